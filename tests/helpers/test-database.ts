import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../src/testing/index.js';

/** A database of its own for one test file, so files run in parallel without seeing each other. */
export type IsolatedDatabase = TestDatabase;

function serverUrl(): string {
  return process.env.TEST_DATABASE_URL ?? inject('testDatabaseUrl');
}

/** The one way tests reach PostgreSQL: TEST_DATABASE_URL, or the embedded server of the global setup. */
export const testDatabase = Object.freeze({
  get serverUrl(): string {
    return serverUrl();
  },

  create(label: string, template?: string): Promise<IsolatedDatabase> {
    return createTestDatabase(serverUrl(), { label, template });
  },
});

/** A unique application_name, so a test can find exactly its own connections in pg_stat_activity. */
export function uniqueApplicationName(label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`;
}
