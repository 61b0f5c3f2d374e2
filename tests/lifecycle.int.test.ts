import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppLifecycle,
  type DatabaseConfigOverrides,
  databaseModule,
  InversifyMikroOrmError,
  loadDatabaseConfig,
} from '../src/index.js';
import { SCHEMA_LOCK_KEY } from '../src/schema-lock.js';
import { syncSchema } from '../src/schema-sync.js';
import { serverConnections, startContainer } from './helpers/database-container.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

/** The same table as the application evolves: v1, then a version that lost a column, then one that gained one. */
const ArticleV1 = defineEntity({
  name: 'Article',
  properties: { id: p.integer().primary(), title: p.string(), legacyCode: p.string().nullable(), author: p.string() },
});
const ArticleWithoutLegacy = defineEntity({
  name: 'Article',
  properties: { id: p.integer().primary(), title: p.string() },
});
const ArticleWithSlug = defineEntity({
  name: 'Article',
  properties: { id: p.integer().primary(), title: p.string(), slug: p.string().nullable() },
});

/** Two services on one database, each with entities of its own. */
const Alpha = defineEntity({ name: 'Alpha', properties: { id: p.integer().primary(), name: p.string() } });
const AlphaWithCode = defineEntity({
  name: 'Alpha',
  properties: { id: p.integer().primary(), name: p.string(), code: p.string().nullable() },
});
const Beta = defineEntity({ name: 'Beta', properties: { id: p.integer().primary(), label: p.string() } });

/** The schema outcome of one boot (start, then stop) of a service mapping `entities`. */
async function bootOutcome(db: IsolatedDatabase, entities: DatabaseConfigOverrides['entities']) {
  const app = await startContainer(db, { entities }, { DB_POOL_MIN: '1' });
  const outcome = app.lifecycle.schemaOutcome;
  await app.lifecycle.stop();
  return outcome;
}

function silentLogger(warnings: string[] = []) {
  return {
    info: () => undefined,
    warn: (_details: object, message: string) => warnings.push(message),
    error: () => undefined,
  };
}

async function columnsOf(db: IsolatedDatabase, table: string): Promise<string[]> {
  const rows = await db.query<{ column_name: string }>(
    'select column_name from information_schema.columns where table_name = $1 order by column_name',
    [table],
  );
  return rows.map((row) => row.column_name);
}

describe('AppLifecycle schema update', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('schema');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('creates missing tables on start', async () => {
    const app = await startContainer(db, { entities: [ArticleV1] });
    expect(app.lifecycle.schemaOutcome).toBe('updated');
    const em = app.container.get(MikroORM).em.fork();
    em.create(ArticleV1, { title: 'kept', legacyCode: 'L-1', author: 'ann' });
    await em.flush();
    await app.lifecycle.stop();
    expect(await columnsOf(db, 'article')).toEqual(['author', 'id', 'legacy_code', 'title']);
  });

  it('skips the diff when the schema fingerprint is unchanged', async () => {
    const app = await startContainer(db, { entities: [ArticleV1] });
    expect(app.lifecycle.schemaOutcome).toBe('unchanged');
    await app.lifecycle.stop();
  });

  it('checks an unchanged schema with one statement', async () => {
    const statements: string[] = [];
    const app = await startContainer(db, {
      entities: [ArticleV1],
      debug: ['query'],
      colors: false,
      logger: (message) => statements.push(message),
    });
    try {
      statements.length = 0;
      expect(await syncSchema(app.container.get(MikroORM))).toBe('unchanged');
      expect(statements.filter((line) => line.startsWith('[query]'))).toHaveLength(1);
    } finally {
      await app.lifecycle.stop();
    }
  });

  it('never drops a column the metadata no longer has, nor its data', async () => {
    const app = await startContainer(db, { entities: [ArticleWithoutLegacy] });
    expect(app.lifecycle.schemaOutcome).toBe('updated');
    const em = app.container.get(MikroORM).em.fork();
    em.create(ArticleWithoutLegacy, { title: 'new code can still insert' });
    await em.flush();
    await app.lifecycle.stop();
    expect(await columnsOf(db, 'article')).toEqual(['author', 'id', 'legacy_code', 'title']);
    expect(await db.query('select title, legacy_code, author from article order by id')).toEqual([
      { title: 'kept', legacy_code: 'L-1', author: 'ann' },
      { title: 'new code can still insert', legacy_code: null, author: null },
    ]);
  });

  it('adds a column the metadata gained', async () => {
    const app = await startContainer(db, { entities: [ArticleWithSlug] });
    expect(app.lifecycle.schemaOutcome).toBe('updated');
    await app.lifecycle.stop();
    expect(await columnsOf(db, 'article')).toEqual(['author', 'id', 'legacy_code', 'slug', 'title']);
  });

  it('leaves the schema alone when DB_SCHEMA_UPDATE=off', async () => {
    const Other = defineEntity({ name: 'Other', properties: { id: p.integer().primary() } });
    const app = await startContainer(db, { entities: [Other] }, { DB_SCHEMA_UPDATE: 'off' });
    expect(app.lifecycle.schemaOutcome).toBeUndefined();
    await app.lifecycle.stop();
    expect(await columnsOf(db, 'other')).toEqual([]);
  });
});

describe('AppLifecycle schema fingerprint, two services on one database', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('two_services');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('keeps a fingerprint per entity set: after its first boot, each service finds its schema unchanged', async () => {
    expect(await bootOutcome(db, [Alpha])).toBe('updated');
    expect(await bootOutcome(db, [Beta])).toBe('updated');
    expect(await bootOutcome(db, [Alpha])).toBe('unchanged');
    expect(await bootOutcome(db, [Beta])).toBe('unchanged');
  });

  it("updates for a change to one service's entities, and leaves the other unchanged", async () => {
    expect(await bootOutcome(db, [AlphaWithCode])).toBe('updated');
    expect(await columnsOf(db, 'alpha')).toEqual(['code', 'id', 'name']);
    expect(await bootOutcome(db, [Beta])).toBe('unchanged');
    expect(await bootOutcome(db, [AlphaWithCode])).toBe('unchanged');
  });
});

describe('AppLifecycle stop', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('stop');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('closes every server connection, and a second stop() is the same stop', async () => {
    const applicationName = uniqueApplicationName('stop');
    const app = await startContainer(db, {
      entities: [ArticleV1],
      driverOptions: { application_name: applicationName },
    });
    expect(await serverConnections(db, applicationName)).toBe(5);
    const first = app.lifecycle.stop();
    expect(app.lifecycle.stop()).toBe(first);
    await first;
    expect(app.lifecycle.state).toBe('stopped');
    // pg-pool's end() resolves once it has told each connection to close; the server's backends
    // leave pg_stat_activity a few milliseconds later (seen on main under a loaded machine).
    await expect.poll(() => serverConnections(db, applicationName)).toBe(0);
  });

  it('runs stop hooks in reverse order, abandons a hung one, then closes the ORM', async () => {
    const applicationName = uniqueApplicationName('hooks');
    const app = await startContainer(
      db,
      { entities: [ArticleV1], driverOptions: { application_name: applicationName } },
      { DB_STOP_TIMEOUT_MS: '300' },
    );
    const order: string[] = [];
    app.lifecycle
      .onStop('first', () => {
        order.push('first');
      })
      .onStop('hangs', () => new Promise<void>(() => order.push('hangs')))
      .onStop('last', () => {
        order.push('last');
      });
    const warnings: string[] = [];
    app.lifecycle.useLogger({ info: () => undefined, warn: (_d, m) => warnings.push(m), error: () => undefined });
    await app.lifecycle.stop();
    expect(order).toEqual(['last', 'hangs', 'first']);
    expect(warnings).toEqual(['stop hook "hangs" failed during stop']);
    await expect.poll(() => serverConnections(db, applicationName)).toBe(0);
  });

  it('refuses to start again after a start and a stop', async () => {
    const app = await startContainer(db, { entities: [ArticleV1] });
    await app.lifecycle.stop();
    const again = app.lifecycle.start();
    await expect(again).rejects.toBeInstanceOf(InversifyMikroOrmError);
    await expect(again).rejects.toMatchObject({ kind: 'lifecycle' });
    await expect(again).rejects.toThrow(/a stopped AppLifecycle cannot be restarted/);
    expect(app.lifecycle.state).toBe('stopped');
  });

  it('refuses to start a lifecycle that was stopped before it started', async () => {
    const container = new Container();
    container.load(databaseModule(loadDatabaseConfig({ entities: [ArticleV1] }, db.env())));
    const lifecycle = container.get(AppLifecycle);
    await lifecycle.stop();
    await expect(lifecycle.start()).rejects.toThrow(/a stopped AppLifecycle cannot be restarted/);
  });

  it('stop() while the schema update waits for the lock cancels it: start() rejects, no connection is left', async () => {
    const Locked = defineEntity({ name: 'Locked', properties: { id: p.integer().primary() } });
    const applicationName = uniqueApplicationName('stop-schema');
    const holder = new pg.Client({ connectionString: db.url, application_name: 'test-lock-holder' });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY.toString()]);
      const container = new Container();
      container.load(
        databaseModule(
          loadDatabaseConfig(
            { entities: [Locked], driverOptions: { application_name: applicationName } },
            db.env({ DB_POOL_MIN: '1' }),
          ),
        ),
      );
      const lifecycle = container.get(AppLifecycle).useLogger(silentLogger());
      const starting = lifecycle.start().then(
        () => undefined,
        (error: unknown) => error,
      );
      await expect
        .poll(
          () =>
            db.query(
              "select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock' and wait_event = 'advisory'",
              [applicationName],
            ),
          { timeout: 5000 },
        )
        .toHaveLength(1);

      await lifecycle.stop();
      const error = await starting;
      expect(error).toBeInstanceOf(InversifyMikroOrmError);
      expect(error).toMatchObject({ kind: 'lifecycle' });
      expect((error as Error).message).toMatch(/stopped while starting \(updating the schema\)/);
      expect(lifecycle.state).toBe('stopped');
      await expect.poll(() => serverConnections(db, applicationName)).toBe(0);
      expect(await db.query("select 1 from pg_tables where tablename = 'locked'")).toHaveLength(0);
    } finally {
      await holder.end();
    }
  }, 15_000);
});

describe('AppLifecycle connect', () => {
  it('gives up at the deadline naming host:port and the cause, never the password', async () => {
    const password = 'Do-Not-Print-Me-42';
    const container = new Container();
    container.load(
      databaseModule(
        loadDatabaseConfig(
          { entities: [ArticleV1] },
          { DATABASE_URL: `postgresql://app:${password}@127.0.0.1:1/nowhere`, DB_CONNECT_TIMEOUT_MS: '600' },
        ),
      ),
    );
    const lifecycle = container.get(AppLifecycle);
    lifecycle.useLogger({ info: () => undefined, warn: () => undefined, error: () => undefined });
    const error = await lifecycle.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect((error as InversifyMikroOrmError).kind).toBe('connect');
    expect((error as Error).message).toMatch(/127\.0\.0\.1:1\/nowhere within 600 ms .*ECONNREFUSED/);
    expect((error as Error).message).not.toContain(password);
    expect(String((error as Error).stack)).not.toContain(password);
  });

  it('stop() during the connect retry ends it: start() rejects as stopped while starting, stop() resolves', async () => {
    const container = new Container();
    container.load(
      databaseModule(
        loadDatabaseConfig(
          { entities: [ArticleV1] },
          { DATABASE_URL: 'postgresql://app@127.0.0.1:1/nowhere', DB_CONNECT_TIMEOUT_MS: '20000' },
        ),
      ),
    );
    const warnings: string[] = [];
    const lifecycle = container.get(AppLifecycle).useLogger(silentLogger(warnings));
    const starting = lifecycle.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    await expect.poll(() => warnings).toContain('Database not reachable yet; retrying');

    await lifecycle.stop();
    const error = await starting;
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect(error).toMatchObject({ kind: 'lifecycle' });
    expect((error as Error).message).toMatch(/stopped while starting \(connecting to 127\.0\.0\.1:1\/nowhere\)/);
    expect(lifecycle.state).toBe('stopped');
  }, 10_000);
});
