import { execFileSync } from 'node:child_process';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppLifecycle, nativePool } from '../src/index.js';
import type { Orm } from '../src/orm.js';
import { startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { throughPgBouncer } from './helpers/pooler.js';
import { terminateBlocking } from './helpers/terminate-blocking.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

/**
 * The same through PgBouncer, where a terminated backend leaves the client connection open: its
 * admin console drops every connection of the database (KILL), then lets new ones in (RESUME).
 */
function dropThroughPgBouncerBlocking(url: string, database: string): void {
  const admin = new URL(url);
  admin.pathname = '/pgbouncer';
  const script = `import pg from 'pg';
    const client = new pg.Client({ connectionString: process.argv[1] });
    await client.connect();
    await client.query('KILL ' + process.argv[2]);
    await client.query('RESUME ' + process.argv[2]);
    await client.end();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script, admin.href, database]);
}

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
    const victimReturned = new Promise<unknown>((resolve) =>
      pool.on('release', (error: unknown, client: PoolClient) => client === victim && resolve(error)),
    );

    if (throughPgBouncer()) dropThroughPgBouncerBlocking(db.url, db.name);
    else terminateBlocking(db.url, [deadPid]);
    const em = orm.em.fork();
    await em.begin();
    // The BEGIN was sent on the dead connection: it came back to the pool (as a dead idle one would
    // not), released as broken.
    expect(await victimReturned).toBeInstanceOf(Error);
    if (!throughPgBouncer()) {
      // processID is PgBouncer's cancel key there, not a backend's pid.
      const [{ pid }] = (await em.execute('select pg_backend_pid() as pid')) as [{ pid: number }];
      expect(pid).not.toBe(deadPid);
    }
    em.create(Note, { body: 'after a failed begin' });
    await em.commit();
    expect(await db.query('select body from note')).toEqual([{ body: 'after a failed begin' }]);
  });
});
