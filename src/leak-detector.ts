import type { Pool, PoolClient } from 'pg';
import type { Logger } from './logger.js';

interface Checkout {
  since: number;
  /** Created at checkout, formatted only if printed: V8 captures frames cheaply and renders them lazily. */
  origin: Error;
  warned: boolean;
}

/**
 * HikariCP's leakDetectionThreshold: a connection out of the pool longer than `thresholdMs` (an
 * open transaction, a forgotten stream) is logged once, with the stack of the code that took it.
 * Whoever owns it still gets to finish; the request or job that owns a Session rolls it back when
 * it ends (see `releaseSession`). Returns a function that stops watching.
 */
export function watchForLeaks(pool: Pool, thresholdMs: number, log: () => Logger): () => void {
  const out = new Map<PoolClient, Checkout>();
  const onAcquire = (client: PoolClient) =>
    out.set(client, { since: Date.now(), origin: new Error('connection taken here'), warned: false });
  const onRelease = (_error: unknown, client: PoolClient) => out.delete(client);
  pool.on('acquire', onAcquire);
  pool.on('release', onRelease);

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const checkout of out.values()) {
        if (checkout.warned || now - checkout.since < thresholdMs) continue;
        checkout.warned = true;
        log().warn(
          { heldForMs: now - checkout.since, stack: checkout.origin.stack },
          `A database connection has been out of the pool for more than ${thresholdMs} ms (DB_LEAK_WARN_MS), usually a transaction left open; it was taken at the stack below. Commit or roll back promptly, or use em.transactional().`,
        );
      }
    },
    Math.max(10, Math.min(1000, thresholdMs / 4)),
  );
  sweep.unref();
  return () => {
    clearInterval(sweep);
    pool.off('acquire', onAcquire);
    pool.off('release', onRelease);
  };
}
