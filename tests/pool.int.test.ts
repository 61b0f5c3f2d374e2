import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativePool } from '../src/index.js';
import { type StartedContainer, serverConnections, startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

describe('the live pg.Pool', () => {
  let db: IsolatedDatabase;
  let app: StartedContainer;
  const applicationName = uniqueApplicationName('pool');

  beforeAll(async () => {
    db = await testDatabase.create('pool');
    app = await startContainer(db, { entities: [Note], driverOptions: { application_name: applicationName } });
  });

  afterAll(async () => {
    await app.lifecycle.stop();
    await db.drop();
  });

  it('receives every pool setting of the template', async () => {
    const pool = await nativePool(app.container.get(MikroORM));
    expect(pool.options).toMatchObject({
      min: 5,
      max: 15,
      maxLifetimeSeconds: 300,
      connectionTimeoutMillis: 30000,
      validateAfterIdleMillis: 1000,
      idleTimeoutMillis: 10000,
    });
  });

  it('keeps min connections warm after start', async () => {
    const pool = await nativePool(app.container.get(MikroORM));
    expect(pool.totalCount).toBe(5);
    expect(await serverConnections(db, applicationName)).toBe(5);
  });
});

describe('TLS from DATABASE_URL', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('tls');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('asks the server for TLS when sslmode=require', async () => {
    const [{ ssl }] = (await db.query<{ ssl: string }>('show ssl')) as [{ ssl: string }];
    const url = `${db.url}?sslmode=require`;
    const { loadDatabaseConfig, databaseModule, AppLifecycle } = await import('../src/index.js');
    const { Container } = await import('inversify');
    const container = new Container();
    container.load(
      databaseModule(loadDatabaseConfig({ entities: [Note] }, { DATABASE_URL: url, DB_CONNECT_TIMEOUT_MS: '1500' })),
    );
    const lifecycle = container.get(AppLifecycle);
    try {
      if (ssl === 'on') {
        await lifecycle.start();
        const [row] = await container
          .get(MikroORM)
          .em.fork()
          .execute<{ ssl: boolean }[]>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
        expect(row?.ssl).toBe(true);
      } else {
        // A server without TLS refuses the handshake: proof that TLS was requested, not silently dropped.
        await expect(lifecycle.start()).rejects.toThrow(/does not support SSL/);
      }
    } finally {
      await lifecycle.stop();
    }
  });
});
