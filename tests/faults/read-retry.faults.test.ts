import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isDisconnectError, loadDatabaseConfig, retryableRead } from '../../src/index.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { sleep, taggedUrl } from './helpers.js';

const Note = defineEntity({
  name: 'Note',
  properties: { id: p.integer().primary(), body: p.text() },
});

const TEST_FILE = 'tests/faults/read-retry.faults.test.ts';

/**
 * Kills the backend of `applicationName` that is running a statement containing `fragment`, as
 * soon as one is, and returns how many it killed (1).
 */
async function killWhenRunning(db: IsolatedDatabase, applicationName: string, fragment: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [row] = await db.query<{ killed: number }>(
      `select count(pg_terminate_backend(pid))::int as killed from pg_stat_activity
        where application_name = $1 and state = 'active' and position($2 in query) > 0`,
      [applicationName, fragment],
    );
    if (row?.killed) return row.killed;
    await sleep(10);
  }
  throw new Error(`no statement containing ${fragment} ever ran`);
}

/** Holds an exclusive lock on `table` so that any statement reading it waits, until `release()`. */
async function blockReadsOf(db: IsolatedDatabase, table: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url, application_name: 'test-locker' });
  await client.connect();
  await client.query('begin');
  await client.query(`lock table ${table} in access exclusive mode`);
  return {
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

/**
 * Which statements are sent again after their connection dies: only reads MikroORM generated
 * (find, findOne, count, populate) and reads the caller declared with `retryableRead`. A raw
 * statement may call a function with side effects, so it is never repeated.
 */
describe('the read retry after a killed connection', () => {
  let db: IsolatedDatabase;
  let orm: MikroORM;
  const applicationName = uniqueApplicationName('read-retry');

  beforeAll(async () => {
    db = await testDatabase.create('read_retry');
    await db.query('create table note (id serial primary key, body text not null)');
    await db.query("insert into note (body) values ('one'), ('two')");
    // A sequence is not rolled back when the backend running nextval dies: each run leaves a trace,
    // as a side effect outside the database (a mail, a payment request) would.
    await db.query('create sequence side_effects');
    await db.query(`create function record_call() returns bigint language plpgsql as $$
      declare call bigint;
      begin
        call := nextval('side_effects');
        insert into note (body) values ('call ' || call);
        perform pg_sleep(1);
        return call;
      end $$`);
    const env = { DATABASE_URL: taggedUrl(db.url, applicationName) };
    const { lifecycle: _lifecycle, ...options } = loadDatabaseConfig({ entities: [Note] }, env);
    orm = new MikroORM(options);
    await orm.connect();
  });

  afterAll(async () => {
    await orm.close(true);
    await db.drop();
  });

  const callsSoFar = async () =>
    (
      await db.query<{ calls: number }>(
        'select (case when is_called then last_value else 0 end)::int as calls from side_effects',
      )
    )[0]?.calls ?? 0;

  beforeEach(async () => {
    await db.query("delete from note where body like 'call %'");
  });

  it('never sends a raw select with side effects again: select record_call() runs once, and its caller sees the disconnect', async () => {
    const before = await callsSoFar();
    const call = orm.em
      .fork()
      .execute('select record_call() as call')
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    // Killed only once the function has left its trace (nextval is visible at once, outside any
    // transaction): a kill that lands before would leave nothing to count.
    await expect.poll(callsSoFar, { timeout: 10_000, interval: 5 }).toBeGreaterThan(before);
    expect(await killWhenRunning(db, applicationName, 'record_call()')).toBe(1);
    const error = await call;
    // A repeated call would still be running now; give it the time to leave its trace.
    await sleep(1500);

    const runs = (await callsSoFar()) - before;
    recordFigure({
      fault: 'the backend running `select record_call()` (a function with side effects) killed mid-statement',
      promise:
        'a raw statement is never sent again after a disconnect: it runs at most once, the caller gets the error',
      test: TEST_FILE,
      sent: 1,
      failed: error ? 1 : 0,
      detail: `the function ran ${runs} time(s)`,
    });
    expect(isDisconnectError(error)).toBe(true);
    expect(runs).toBe(1);
  });

  it('sends an ORM read (em.find) again on a fresh connection when its connection is killed mid-statement', async () => {
    const lock = await blockReadsOf(db, 'note');
    const found = orm.em.fork().find(Note, {}, { orderBy: { id: 'asc' } });
    try {
      expect(await killWhenRunning(db, applicationName, 'from "note"')).toBe(1);
      await sleep(200); // the retry is sent after a short pause, and waits on the lock in turn
    } finally {
      await lock.release();
    }
    const notes = await found;
    recordFigure({
      fault: 'the backend running an ORM read (em.find) killed mid-statement',
      promise: 'the read is sent once more on a fresh connection and succeeds',
      test: TEST_FILE,
      sent: 1,
      failed: 0,
    });
    expect(notes.map((note) => note.body)).toEqual(['one', 'two']);
  });

  it('sends a raw read again when the caller declared it with retryableRead()', async () => {
    const lock = await blockReadsOf(db, 'note');
    const read = retryableRead(() => orm.em.fork().execute<{ body: string }[]>('select body from note order by id'));
    try {
      expect(await killWhenRunning(db, applicationName, 'select body from note')).toBe(1);
      await sleep(200);
    } finally {
      await lock.release();
    }
    expect((await read).map((row) => row.body)).toEqual(['one', 'two']);
  });

  it('does not send that raw read again without retryableRead()', async () => {
    const lock = await blockReadsOf(db, 'note');
    const read = orm.em
      .fork()
      .execute('select body from note order by id')
      .catch((error: unknown) => error);
    try {
      expect(await killWhenRunning(db, applicationName, 'select body from note')).toBe(1);
    } finally {
      await lock.release();
    }
    expect(isDisconnectError(await read)).toBe(true);
  });
});
