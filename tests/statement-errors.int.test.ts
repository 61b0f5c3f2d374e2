import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isDisconnectError, loadDatabaseConfig, nativePool } from '../src/index.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const Note = defineEntity({
  name: 'Note',
  properties: { id: p.integer().primary(), body: p.text() },
});

/** Every statement the pool's connections send, in order (validation pings included). */
function recordStatements(pool: Pool): string[] {
  const sent: string[] = [];
  const recorded = new WeakSet<PoolClient>();
  pool.on('acquire', (client) => {
    if (recorded.has(client)) return;
    recorded.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((config: string | { text: string }, ...rest: unknown[]) => {
      sent.push(typeof config === 'string' ? config : config.text);
      return query(config, ...rest);
    }) as PoolClient['query'];
  });
  return sent;
}

/**
 * MikroORM inlines parameters into the SQL text, so a NUL character in a value puts a NUL in the
 * protocol message, which PostgreSQL rejects with 08P01 "invalid message format" at severity ERROR:
 * the statement failed, the connection is fine.
 */
describe('a statement the server rejects for its own content', () => {
  let db: IsolatedDatabase;
  let orm: MikroORM;
  let sent: string[];

  const backendPid = async () =>
    (await orm.em.fork().execute<{ pid: number }[]>('select pg_backend_pid() as pid'))[0]?.pid;

  beforeAll(async () => {
    db = await testDatabase.create('statement_errors');
    await db.query('create table note (id serial primary key, body text not null)');
    // One connection, validated on checkout only after a minute idle or after a disconnect.
    const env = db.env({ DB_POOL_MIN: '0', DB_POOL_MAX: '1', DB_POOL_VALIDATE_AFTER_IDLE_MS: '60000' });
    const { lifecycle: _lifecycle, ...options } = loadDatabaseConfig({ entities: [Note] }, env);
    orm = new MikroORM(options);
    sent = recordStatements(await nativePool(orm));
  });

  afterAll(async () => {
    await orm.close(true);
    await db.drop();
  });

  beforeEach(async () => {
    await backendPid();
    sent.length = 0;
  });

  it('a read with a NUL: not a lost connection, sent once, no pool invalidation, same connection after', async () => {
    const pid = await backendPid();
    sent.length = 0;

    const error = await orm.em
      .fork()
      .execute('select ? as body', ['nul\u0000byte'])
      .catch((failure: unknown) => failure);

    expect(error).toMatchObject({ code: '08P01', message: expect.stringMatching(/invalid message format/) });
    expect(isDisconnectError(error)).toBe(false);
    expect(sent.filter((sql) => sql.includes('\u0000'))).toHaveLength(1);
    expect(await backendPid()).toBe(pid);
    // An invalidated pool validates every checkout with `select 1` for a while.
    expect(sent).not.toContain('select 1');
  });

  it('a write with a NUL: rolled back whole, not a lost connection, same connection after', async () => {
    const pid = await backendPid();
    const em = orm.em.fork();
    em.create(Note, { body: 'fine' });
    em.create(Note, { body: 'nul\u0000byte' });

    const error = await em.flush().catch((failure: unknown) => failure);

    expect(error).toMatchObject({ code: '08P01' });
    expect(isDisconnectError(error)).toBe(false);
    expect(await db.query('select body from note')).toEqual([]);
    expect(await backendPid()).toBe(pid);
    expect(sent).not.toContain('select 1');
  });
});
