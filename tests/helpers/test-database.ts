import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** A database of its own for one test file, so files run in parallel without seeing each other. */
export interface IsolatedDatabase {
  readonly name: string;
  /** Full URL including credentials: never print it. */
  readonly url: string;
  /** Environment for `loadDatabaseConfig`, pointing at this database. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Runs SQL as an administrator on this database (for checks such as pg_stat_activity). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

function serverUrl(): string {
  return process.env.TEST_DATABASE_URL ?? inject('testDatabaseUrl');
}

function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${database}`;
  return next.href;
}

async function adminQuery<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'test-admin' });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The one way tests reach PostgreSQL: TEST_DATABASE_URL, or the embedded server of the global setup. */
export const testDatabase = Object.freeze({
  get serverUrl(): string {
    return serverUrl();
  },

  async create(label: string): Promise<IsolatedDatabase> {
    const name = `t_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`.toLowerCase();
    await adminQuery(serverUrl(), `create database "${name}"`);
    const url = withDatabase(serverUrl(), name);
    return Object.freeze({
      name,
      url,
      env: (extra: Record<string, string> = {}) => ({ DATABASE_URL: url, ...extra }),
      query: <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => adminQuery<R>(url, sql, params),
      drop: () => adminQuery(serverUrl(), `drop database if exists "${name}" with (force)`).then(() => undefined),
    });
  },
});

/** A unique application_name, so a test can find exactly its own connections in pg_stat_activity. */
export function uniqueApplicationName(label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`;
}
