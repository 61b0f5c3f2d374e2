import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppLifecycle, databaseModule, InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';
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
    expect(await serverConnections(db, applicationName)).toBe(0);
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
    expect(await serverConnections(db, applicationName)).toBe(0);
  });

  it('refuses to start again after stop', async () => {
    const app = await startContainer(db, { entities: [ArticleV1] });
    await app.lifecycle.stop();
    const fresh = new Container();
    fresh.load(databaseModule(loadDatabaseConfig({ entities: [ArticleV1] }, db.env())));
    const lifecycle = fresh.get(AppLifecycle);
    await lifecycle.stop();
    await expect(lifecycle.start()).rejects.toThrow(/called after stop/);
  });
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
});
