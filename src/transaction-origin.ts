import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where the transaction that takes a connection began, for the leak warning (`DB_LEAK_WARN_MS`).
 * A stack costs some 5 µs to capture, more than the rest of a checkout: capturing one on every
 * checkout made every read pay for a warning that, in practice, only an open transaction earns
 * (a single statement gives its connection back when it ends). So it is captured once per
 * transaction, where the application begins it, and the pool's checkout picks it up from here.
 */
const beginning = new AsyncLocalStorage<Error>();

/** Just deep enough to reach the application code behind the MikroORM and Kysely frames (more costs more). */
const ORIGIN_STACK_DEPTH = 16;

/** Runs `begin` (a transaction's BEGIN, connection checkout included) with the caller's stack on record. */
export function beginTransactionHere<T>(begin: () => Promise<T>): Promise<T> {
  return beginning.run(captureOrigin(), begin);
}

/** The stack where the transaction taking a connection now began; undefined outside a BEGIN. */
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
