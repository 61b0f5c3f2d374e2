import { MikroORM } from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppLifecycle, type DatabaseConfigOverrides, nativePool } from '../src/index.js';
import {
  connectionDatabases,
  dropEveryConnection,
  serverConnections,
  startContainer,
} from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

/** Nothing listens on port 1: a DATABASE_URL there proves the connection came from the overrides. */
const DEAD_URL = 'postgresql://postgres@127.0.0.1:1/nowhere';

describe('loadDatabaseConfig overrides on the live pool and ORM', () => {
  let db: IsolatedDatabase;
  const lifecycles: AppLifecycle[] = [];

  beforeAll(async () => {
    db = await testDatabase.create('overrides');
  });

  afterEach(async () => {
    await Promise.all(lifecycles.splice(0).map((lifecycle) => lifecycle.stop()));
  });

  afterAll(async () => {
    await db.drop();
  });

  async function start(overrides: DatabaseConfigOverrides, env: Record<string, string> = {}) {
    const applicationName = uniqueApplicationName('overrides');
    const { container, lifecycle } = await startContainer(
      db,
      {
        entities: [Note],
        ...overrides,
        driverOptions: { application_name: applicationName, ...overrides.driverOptions },
      },
      { DB_SCHEMA_UPDATE: 'off', ...env },
    );
    lifecycles.push(lifecycle);
    const orm = container.get(MikroORM);
    return { orm, pool: await nativePool(orm), applicationName };
  }

  it('pool: { min: 1, max: 2 } reaches pg.Pool: one connection kept warm, never more than two', async () => {
    const { pool, applicationName } = await start({ pool: { min: 1, max: 2 } }, { DB_POOL_ACQUIRE_TIMEOUT_MS: '300' });
    expect(pool.options).toMatchObject({ min: 1, max: 2 });
    expect(await serverConnections(db, applicationName)).toBe(1);

    const held = [await pool.connect(), await pool.connect()];
    try {
      await expect(pool.connect()).rejects.toThrow(/timeout exceeded when trying to connect/);
      expect(await serverConnections(db, applicationName)).toBe(2);
    } finally {
      for (const client of held) client.release();
    }
  });

  it('clientUrl replaces DATABASE_URL, and dbName and password win over the URL, on the connections pg opens', async () => {
    const server = new URL(testDatabase.serverUrl);
    // The server's own password when it asks for one; under trust authentication any value is accepted.
    const password = decodeURIComponent(server.password) || 'ignored-by-trust-auth';
    server.password = '';
    const { pool, applicationName } = await start(
      { clientUrl: server.href, dbName: db.name, password },
      { DATABASE_URL: DEAD_URL },
    );
    const databases = await connectionDatabases(db, applicationName);
    expect(databases.length).toBeGreaterThan(0);
    expect(new Set(databases)).toEqual(new Set([db.name]));
    expect((pool.options as { password?: unknown }).password).toBe(password);
  });

  it('debug reaches the ORM', async () => {
    const { orm } = await start({ debug: ['discovery'] }, { DB_ECHO: 'true' });
    expect(orm.config.get('debug')).toEqual(['discovery']);
  });

  it("the application's onPoolCreated receives the live pool, which stays supervised (refilled to the minimum)", async () => {
    const seen: Pool[] = [];
    const { pool, applicationName } = await start(
      { driverOptions: { keepAlive: false, onPoolCreated: (created: Pool) => seen.push(created) } },
      { DB_POOL_MIN: '2' },
    );
    expect(seen).toEqual([pool]);
    expect(pool.options.keepAlive).toBe(false);

    await dropEveryConnection(db, applicationName);
    await expect.poll(() => serverConnections(db, applicationName)).toBe(2);
  });
});
