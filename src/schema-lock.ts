import type { EntityManager } from '@mikro-orm/postgresql';
import type { ClientConfig } from 'pg';
import { pg } from './mikro-orm-pg.js';
import type { Orm } from './orm.js';
import { nativePool } from './pool.js';

/**
 * Any fixed 64-bit number; shared by every instance of every service using this library, so schema
 * changes on one database (safe updates and migrations alike) run one at a time even when services
 * map different (or shared) tables.
 */
export const SCHEMA_LOCK_KEY = 7_344_210_981_523n;

/**
 * Runs `work` in a transaction that first takes the schema lock: a transaction-level advisory lock,
 * released by the commit or rollback, so it works through PgBouncer in transaction mode and can
 * never outlive the boot that took it. Concurrent boots run `work` one after the other, each
 * seeing what the previous one committed. A failure rolls everything back (PostgreSQL DDL is
 * transactional). An aborted `signal` (a stop during the boot) cancels the statement in flight,
 * even the wait for the lock, and so rolls the transaction back.
 */
export async function withSchemaLock<T>(
  orm: Orm,
  work: (tx: EntityManager) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return orm.em.fork().transactional(async (tx) => {
    const stopCancelling = await cancelOnAbort(orm, tx, signal);
    try {
      signal?.throwIfAborted();
      await tx.execute('select pg_advisory_xact_lock(?)', [SCHEMA_LOCK_KEY.toString()]);
      return await work(tx);
    } finally {
      stopCancelling();
    }
  });
}

/**
 * On abort, cancels the transaction's statement in flight from a connection of its own (the pool's
 * may all be busy): a boot waiting for the lock another instance holds, or for a table lock, must
 * not keep a stop waiting. Returns the function that stops listening.
 */
async function cancelOnAbort(orm: Orm, tx: EntityManager, signal?: AbortSignal): Promise<() => void> {
  if (!signal) return () => undefined;
  const [backend] = await tx.execute<{ pid: number }[]>('select pg_backend_pid() as pid');
  const pool = await nativePool(orm);
  const cancel = () => void cancelBackend(pool.options, Number(backend?.pid));
  signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

/** Best effort: if the cancel cannot get through, the stop's own timeout bounds the wait for the statement. */
async function cancelBackend(options: ClientConfig, pid: number): Promise<void> {
  const client = new pg.Client(options);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select pg_cancel_backend($1)', [pid]);
  } catch {
    // Nothing more to do: see above.
  } finally {
    await client.end().catch(() => undefined);
  }
}
