import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedDatabase } from '../../src/embedded/index.js';

/**
 * Builds the service, then: tests talk to a real PostgreSQL: TEST_DATABASE_URL when set, otherwise an embedded server
 * started once for the whole run. Each test file then creates its own database on it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Process-level tests run the built service, exactly what `npm start` runs (the app on the built library).
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('testDatabaseUrl', given);
    return async () => undefined;
  }
  const embedded = new EmbeddedDatabase({ dataDir: path.resolve('.data/test-postgres'), database: 'test' });
  await embedded.start();
  project.provide('testDatabaseUrl', embedded.url);
  return () => embedded.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabaseUrl: string;
  }
}
