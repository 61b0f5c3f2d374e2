import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInversifyMikroOrmError } from '../src/index.js';
import { createTemplateDatabase, createTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { cannotHoldThroughPgBouncer } from './helpers/pooler.js';
import { testDatabase } from './helpers/test-database.js';

async function exists(name: string): Promise<boolean> {
  const server = new pg.Client({ connectionString: testDatabase.serverUrl });
  await server.connect();
  try {
    return (await server.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await server.end();
  }
}

describe.skipIf(
  cannotHoldThroughPgBouncer(
    'per-test databases from a template',
    "PostgreSQL copies a template only when nobody is connected to it, and PgBouncer keeps its server connections to the template open after prepare() has closed its own: createTemplateDatabase needs the server's direct URL",
  ),
)('per-test databases', () => {
  let template: TestDatabase;

  beforeAll(async () => {
    // What a consumer's global setup does once per run: the schema and reference rows every test starts from.
    template = await createTemplateDatabase(
      testDatabase.serverUrl,
      async (database) => {
        const app = await startContainer(database, { entities: [Note] });
        await database.query("insert into note (body) values ('reference row')");
        await app.lifecycle.stop();
      },
      { label: 'notes_template' },
    );
  });

  afterAll(async () => {
    await template?.drop();
  });

  it('copies the template for each test file or worker: schema, rows, and nothing shared afterwards', async () => {
    const copies = await Promise.all(
      [1, 2, 3, 4].map((worker) =>
        createTestDatabase(testDatabase.serverUrl, { label: `worker_${worker}`, template: template.name }),
      ),
    );
    try {
      expect(new Set(copies.map((copy) => copy.name)).size).toBe(4);
      for (const copy of copies) {
        expect(await copy.query('select body from note')).toEqual([{ body: 'reference row' }]);
      }
      await copies[0]?.query("insert into note (body) values ('only in the first copy')");
      expect(await copies[1]?.query('select count(*)::int as n from note')).toEqual([{ n: 1 }]);
      expect(await template.query('select count(*)::int as n from note')).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all(copies.map((copy) => copy.drop()));
    }
  });

  it('starts an application on a copy without redoing the schema', async () => {
    const copy = await createTestDatabase(testDatabase.serverUrl, { label: 'app_copy', template: template.name });
    try {
      const app = await startContainer(copy, { entities: [Note] });
      expect(app.lifecycle.schemaOutcome).toBe('unchanged');
      await app.lifecycle.stop();
    } finally {
      await copy.drop();
    }
  });

  it('gives the environment of a database, with a prefix for a named one', async () => {
    const copy = await createTestDatabase(testDatabase.serverUrl, { label: 'env' });
    try {
      expect(copy.env()).toEqual({ DATABASE_URL: copy.url });
      expect(copy.env({ DB_POOL_MAX: '3' }, 'REPORTS_')).toEqual({ REPORTS_DATABASE_URL: copy.url, DB_POOL_MAX: '3' });
      expect(new URL(copy.url).pathname).toBe(`/${copy.name}`);
    } finally {
      await copy.drop();
    }
    expect(await exists(copy.name)).toBe(false);
  });

  it('refuses a template that prepare() left connected to, naming it, and drops it', async () => {
    let leaked: pg.Client | undefined;
    let templateName = '';
    const failure = await createTemplateDatabase(
      testDatabase.serverUrl,
      async (database) => {
        templateName = database.name;
        leaked = new pg.Client({ connectionString: database.url });
        leaked.on('error', () => undefined); // the drop terminates it
        await leaked.connect();
      },
      { label: 'leaky_template' },
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    await leaked?.end().catch(() => undefined);
    expect(isInversifyMikroOrmError(failure, 'lifecycle')).toBe(true);
    expect((failure as Error).message).toContain(`"${templateName}" still has 1 connection(s)`);
    expect(await exists(templateName)).toBe(false);
  });
});
