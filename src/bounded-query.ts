import type { Pool, QueryResultRow } from 'pg';
import { abortable } from './timeout.js';

/**
 * Runs one statement on a connection of its own, given up when `signal` aborts (health probes:
 * `AbortSignal.timeout(ms)`). The connection of an abandoned statement is destroyed, not kept
 * waiting for an answer that may never come (a stalled network): otherwise every probe during a
 * stall would take one more connection from the pool.
 */
export async function queryWithin<R extends QueryResultRow>(
  pool: Pool,
  sql: string,
  signal: AbortSignal,
): Promise<R[]> {
  const checkout = pool.connect();
  // A connection that arrives after the probe gave up is healthy (the pool validated it): give it back.
  const client = await abortable(checkout, signal).catch((error: unknown) => {
    checkout.then((late) => late.release(), noop);
    throw error;
  });
  const destroy = () => client.release(new Error('probe abandoned'));
  signal.addEventListener('abort', destroy, { once: true });
  try {
    const result = await abortable(client.query<R>(sql), signal);
    client.release();
    return result.rows;
  } catch (error) {
    if (!signal.aborted) client.release(error as Error);
    throw error;
  } finally {
    signal.removeEventListener('abort', destroy);
  }
}

const noop = () => undefined;
