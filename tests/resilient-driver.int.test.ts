import { MikroORM } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppLifecycle, nativePool } from '../src/index.js';
import type { Orm } from '../src/orm.js';
import { startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { terminateBlocking } from './helpers/terminate-blocking.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

describe('ResilientPostgreSqlDriver', () => {
  let db: IsolatedDatabase;
  let lifecycle: AppLifecycle;
  let orm: Orm;
  let pool: Pool;

  beforeAll(async () => {
    db = await testDatabase.create('resilient_driver');
    const started = await startContainer(
      db,
      { entities: [Note] },
      // One connection, never validated on checkout: the BEGIN is what meets the dead connection.
      { DB_POOL_MIN: '1', DB_POOL_VALIDATE_AFTER_IDLE_MS: '600000' },
    );
    lifecycle = started.lifecycle;
    orm = started.container.get(MikroORM);
    pool = await nativePool(orm);
  });

  afterAll(async () => {
    await lifecycle.stop();
    await db.drop();
  });

  it('retries a BEGIN that failed on a dead pooled connection, on a fresh one', async () => {
    const victim = await pool.connect();
    const deadPid = (victim as PoolClient & { processID: number }).processID;
    victim.release();
    const victimReturned = new Promise<void>((resolve) =>
      pool.on('release', (_error: unknown, client: PoolClient) => client === victim && resolve()),
    );

    terminateBlocking(db.url, [deadPid]);
    const em = orm.em.fork();
    await em.begin();
    // The BEGIN was sent on the dead connection: it came back to the pool (as a dead idle one would not).
    await victimReturned;
    const [{ pid }] = (await em.execute('select pg_backend_pid() as pid')) as [{ pid: number }];
    expect(pid).not.toBe(deadPid);
    em.create(Note, { body: 'after a failed begin' });
    await em.commit();
    expect(await db.query('select body from note')).toEqual([{ body: 'after a failed begin' }]);
  });
});
