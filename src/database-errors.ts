/** SQLSTATE classes and socket codes that mean "this connection is gone", not "this query is wrong". */
const DISCONNECT_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
const DISCONNECT_SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
/**
 * The severities that end a session. The server spells them in its `lc_messages` language; a
 * translated FATAL is still noticed, as the server then closes the socket and the pool sees it.
 */
const SESSION_ENDING_SEVERITIES = new Set(['FATAL', 'PANIC']);
const DISCONNECT_MESSAGES =
  /Connection terminated|terminating connection|Client has encountered a connection error|Connection ended unexpectedly|not queryable|Client was closed/i;
const ACQUIRE_TIMEOUT_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;

/** MikroORM wraps driver errors; the original `pg` error sits somewhere down the `cause` chain. */
export function* causeChain(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  let current = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    yield current as Record<string, unknown>;
    current = (current as { cause?: unknown }).cause;
  }
}

function matches(error: unknown, test: (code: string, message: string) => boolean): boolean {
  for (const link of causeChain(error)) {
    const code = typeof link.code === 'string' ? link.code : '';
    const message = typeof link.message === 'string' ? link.message : '';
    if (test(code, message)) return true;
  }
  return false;
}

/** True when the error, or one it wraps, carries this SQLSTATE. */
export function hasSqlState(error: unknown, sqlState: string): boolean {
  return matches(error, (code) => code === sqlState);
}

/**
 * True when the server rejected the statement and kept the session: it reported the error at a
 * severity below FATAL (only FATAL and PANIC end a session). Its SQLSTATE class does not tell:
 * a NUL character in the SQL text is answered with 08P01 "invalid message format" at ERROR, on a
 * connection that stays in sync and usable.
 */
export function endedOnlyTheStatement(error: unknown): boolean {
  for (const link of causeChain(error)) {
    if (typeof link.severity === 'string') return !SESSION_ENDING_SEVERITIES.has(link.severity);
  }
  return false;
}

/** True when the error means the server connection died (the query itself may be fine). */
export function isDisconnectError(error: unknown): boolean {
  if (matches(error, (code) => DISCONNECT_SQLSTATES.has(code))) return true;
  if (endedOnlyTheStatement(error)) return false;
  return matches(
    error,
    (code, message) => code.startsWith('08') || DISCONNECT_SOCKET_CODES.has(code) || DISCONNECT_MESSAGES.test(message),
  );
}

/** True when no pooled connection could be had within the acquire timeout. */
export function isAcquireTimeoutError(error: unknown): boolean {
  return matches(error, (_code, message) => ACQUIRE_TIMEOUT_MESSAGES.test(message));
}
