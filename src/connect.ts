import { permanentConnectError } from './connect-errors.js';
import { InversifyMikroOrmError } from './errors.js';
import type { Logger } from './logger.js';
import type { Orm } from './orm.js';
import { abortable, sleep, withTimeout } from './timeout.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;

/**
 * Connects, retrying with exponential backoff and full jitter until the deadline: a Neon branch
 * waking up, or a server still booting, is not a reason to crash. A failure that retrying cannot
 * fix (wrong password, unknown database, TLS that cannot work) fails at once. An aborted `signal`
 * (a stop during the boot) ends the attempt and the wait at once, rejecting with its reason.
 */
export async function connectWithRetry(
  orm: Orm,
  endpoint: string,
  timeoutMs: number,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Failure | undefined;
  for (let attempt = 1; ; attempt++) {
    const remaining = Math.max(1, deadline - Date.now());
    const failure = await abortable(tryConnect(orm, remaining), signal);
    if (failure === undefined) return;
    const permanent = permanentConnectError(failure.cause, orm.config, endpoint);
    if (permanent) throw permanent;
    // An attempt cut short by our own deadline says nothing new: keep the server's last answer.
    if (!failure.cutByDeadline || !last) last = failure;
    const reason = last;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1)) * Math.random();
    if (Date.now() + delay >= deadline) {
      throw new InversifyMikroOrmError(
        'connect',
        `Could not connect to PostgreSQL at ${endpoint} within ${timeoutMs} ms (${attempt} attempts); last error: ${reason.message}. Check that the server is running and DATABASE_URL is right, or raise DB_CONNECT_TIMEOUT_MS.`,
        { cause: reason.cause },
      );
    }
    log.warn(
      { endpoint, attempt, retryInMs: Math.round(delay), reason: reason.message },
      'Database not reachable yet; retrying',
    );
    await sleep(delay, signal);
  }
}

interface Failure {
  message: string;
  cause: unknown;
  cutByDeadline?: boolean;
}

async function tryConnect(orm: Orm, ms: number): Promise<Failure | undefined> {
  const deadlineHit = new Error(`no answer within ${ms} ms`);
  try {
    const check = await withTimeout(
      orm.connect().then(() => orm.checkConnection()),
      ms,
      () => deadlineHit,
    );
    return check.ok ? undefined : { message: check.reason, cause: check.error };
  } catch (error) {
    return { message: (error as Error).message ?? String(error), cause: error, cutByDeadline: error === deadlineHit };
  }
}
