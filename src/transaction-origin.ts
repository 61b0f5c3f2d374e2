import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where the application began the transaction that takes a connection, for the leak warning
 * (`DB_LEAK_WARN_MS`). A stack costs 5 to 20 µs to capture through async frames, more than the
 * rest of a checkout: capturing one on every checkout made every read, and every flush, pay for a
 * warning that, in practice, only a transaction the application holds open earns (a statement, or
 * the transaction MikroORM opens for a flush, ends with its own work). So it is captured where the
 * application begins a transaction (`em.begin()`, `em.transactional()`, `@Transactional()`: see
 * transaction-scope.ts), and the pool's checkout picks it up from here.
 */
const beginning = new AsyncLocalStorage<Error>();

/** Just deep enough to reach the application code behind the MikroORM and Kysely frames (more costs more). */
const ORIGIN_STACK_DEPTH = 16;

/** Runs `begin` (a transaction's BEGIN, connection checkout included, and what runs inside it) with the caller's stack on record. */
export function beginTransactionHere<T>(begin: () => Promise<T>): Promise<T> {
  return beginning.run(captureOrigin(), begin);
}

/** The stack where the application began the transaction taking a connection now; undefined for any other checkout. */
export function transactionOrigin(): Error | undefined {
  return beginning.getStore();
}

function captureOrigin(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = ORIGIN_STACK_DEPTH;
  // Formatted only if printed: V8 records the frames here and renders them lazily.
  const origin = new Error('transaction began here');
  Error.stackTraceLimit = limit;
  return origin;
}
