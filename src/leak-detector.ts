import type { Pool } from 'pg';
import type { Logger } from './logger.js';
import { type Checkout, outstandingCheckouts } from './pool.js';
import { figuresOf } from './pool-figures.js';

/**
 * HikariCP's leakDetectionThreshold: a connection out of the pool longer than `thresholdMs` (an
 * open transaction, a forgotten stream) is logged once; for a transaction, with the stack where it
 * began (see transaction-origin.ts).
 * Whoever owns it still gets to finish; the request or job that owns a Session rolls it back when
 * it ends (see `releaseSession`). Returns a function that stops watching.
 */
export function watchForLeaks(pool: Pool, thresholdMs: number, log: () => Logger): () => void {
  const figures = figuresOf(pool);
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const checkout of outstandingCheckouts(pool)) {
        if (checkout.warned || now - checkout.since < thresholdMs) continue;
        checkout.warned = true;
        figures.leakWarnings++;
        log().warn(
          { heldForMs: now - checkout.since, stack: checkout.origin?.stack },
          leakMessage(checkout, thresholdMs),
        );
      }
    },
    Math.max(10, Math.min(1000, thresholdMs / 4)),
  );
  sweep.unref();
  return () => clearInterval(sweep);
}

function leakMessage(checkout: Checkout, thresholdMs: number): string {
  const held = `A database connection has been out of the pool for more than ${thresholdMs} ms (DB_LEAK_WARN_MS)`;
  if (checkout.origin) {
    return `${held}, held by a transaction left open; it began at the stack below. Commit or roll back promptly, or use em.transactional().`;
  }
  return `${held}, not for a transaction the application began: a long statement or flush, a stream, or a connection taken from the pool by hand and not released (stacks are recorded where em.begin(), em.transactional() or @Transactional() begin one).`;
}
