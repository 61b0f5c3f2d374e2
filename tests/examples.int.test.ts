import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { main as asyncConfig } from '../examples/async-config.js';
import { scrapeOnce } from '../examples/metrics.js';
import { main as migrate } from '../examples/migrate.js';
import { main as namedDatabases } from '../examples/named-databases.js';
import { main as repositories } from '../examples/repositories.js';
import { main as testing } from '../examples/testing.js';
import { main as transactions } from '../examples/transactions.js';
import { cannotHoldThroughPgBouncer } from './helpers/pooler.js';
import { sampleOf } from './helpers/prometheus-text.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const readme = readFileSync('README.md', 'utf8');

/** The block the README shows between `<!-- example:<file> -->` and `<!-- /example -->`. */
function shownInReadme(file: string): string {
  const start = `<!-- example:${file} -->`;
  const from = readme.indexOf(start);
  expect(from, `README marker ${start}`).toBeGreaterThanOrEqual(0);
  const block = readme.slice(from + start.length, readme.indexOf('<!-- /example -->', from));
  return block.replace(/^\s*```ts\n/, '').replace(/```\s*$/, '');
}

// examples/usage.ts is checked by tests/readme.int.test.ts; examples/replicas.ts is run by
// tests/replicas.int.test.ts (it needs a streaming replica).
const EXAMPLES = [
  'examples/repositories.ts',
  'examples/transactions.ts',
  'examples/named-databases.ts',
  'examples/async-config.ts',
  'examples/testing.ts',
  'examples/migrate.ts',
  'examples/metrics.ts',
  'examples/replicas.ts',
];

describe('README examples beyond the core', () => {
  const databases: IsolatedDatabase[] = [];
  const database = async (label: string) => {
    const created = await testDatabase.create(label);
    databases.push(created);
    return created;
  };

  afterEach(async () => {
    await Promise.all(databases.splice(0).map((db) => db.drop()));
  });

  it.each(EXAMPLES)('shows %s exactly as it is compiled and tested', (file) => {
    expect(shownInReadme(file)).toBe(readFileSync(file, 'utf8'));
  });

  it('repositories: the repository and the Session return the same entity instance', async () => {
    expect(await repositories((await database('ex_repositories')).env())).toEqual({ sameInstance: true });
  });

  it('transactions: a failed transfer rolls back, its REQUIRES_NEW audit entry stays', async () => {
    expect(await transactions((await database('ex_transactions')).env())).toEqual({
      outcome: 'insufficient funds',
      balances: [50, 0],
      audited: 1,
    });
  });

  it('named databases: one job writes to both, one AppLifecycle starts and stops both', async () => {
    const [orders, reports] = [await database('ex_orders'), await database('ex_reports')];
    expect(await namedDatabases({ ...orders.env(), ...reports.env({}, 'REPORTS_') })).toEqual({
      reports: 1,
      orders: 1,
    });
  });

  it('async configuration: the database URL comes from an async source', async () => {
    expect(await asyncConfig((await database('ex_async')).env())).toEqual({ notes: 0 });
  });

  it('migrate: the first boot applies the example migration, the next finds nothing pending', async () => {
    const db = await database('ex_migrate');
    const env = db.env({ DB_SCHEMA_UPDATE: 'migrate' });
    expect(await migrate(env)).toEqual({ schema: 'updated', notes: 0 });
    expect(await migrate(env)).toEqual({ schema: 'unchanged', notes: 0 });
    expect(await db.query('select name from mikro_orm_migrations')).toEqual([
      { name: 'Migration20261126000000_notes' },
    ]);
  });

  it('metrics: the pool figures of the default database, in the Prometheus text format', async () => {
    const text = await scrapeOnce((await database('ex_metrics')).env());
    expect(sampleOf(text, 'db_pool_connections', { database: 'default' })).toBe(5);
    expect(sampleOf(text, 'db_pool_acquire_wait_seconds_count', { database: 'default' })).toBeGreaterThan(0);
    expect(
      sampleOf(text, 'db_schema_step_duration_seconds', { database: 'default', outcome: 'updated' }),
    ).toBeGreaterThan(0);
  });

  it.skipIf(
    cannotHoldThroughPgBouncer(
      'examples/testing.ts',
      "PostgreSQL copies a template only when nobody is connected to it, and PgBouncer keeps its server connections to the template open after prepare() has closed its own: createTemplateDatabase needs the server's direct URL",
    ),
  )('testing: a request inside withRollback is seen by the test and leaves nothing behind', async () => {
    expect(await testing(testDatabase.serverUrl)).toEqual({ seenInside: 1, leftBehind: 0 });
  });
});
