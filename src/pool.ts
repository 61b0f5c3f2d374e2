import type { Pool, PoolClient } from 'pg';
import { isDisconnectError } from './database-errors.js';
import type { Logger } from './logger.js';
import type { Orm } from './orm.js';
import { type DatabaseFigures, figuresOf, type RetirementReason } from './pool-figures.js';
import { transactionOrigin } from './transaction-origin.js';

/** The template's pool semantics (SQLAlchemy `QueuePool`), expressed in `pg-pool` terms. */
export interface PoolSettings {
  /** Connections kept open and warm (`pool_size`). */
  min: number;
  /** Hard cap on connections (`pool_size + max_overflow`). */
  max: number;
  /** Connections are replaced after this age (`pool_recycle`), with jitter so they don't all expire together. */
  maxLifetimeSeconds: number;
  /** A connection idle longer than this is checked with `select 1` before it is handed out (`pool_pre_ping`). */
  validateAfterIdleMs: number;
  /**
   * A `select 1` that has not answered within this fails the connection; every connection idle
   * since then is retired too, without a ping each (HikariCP's soft eviction).
   */
  validationTimeoutMs: number;
  /** How long a caller waits for a connection before failing (`pool_timeout`). */
  acquireTimeoutMs: number;
  /** Connections above `min` are closed after sitting idle this long. */
  idleTimeoutMs: number;
}

/** Up to this fraction of the lifetime is shaved off each connection, at random. */
const LIFETIME_JITTER = 0.2;
/** After a disconnect, every checkout is validated for at least this long. */
const SUSPECT_WINDOW_MS = 1000;

interface ClientState {
  /** The last moment the connection was known to work: connected, validated, or given back by its holder. */
  lastUsedAt: number;
}

type ConnectCallback = (err: Error | undefined, client?: PoolClient, done?: (release?: unknown) => void) => void;

/**
 * Puts the pool behaviours `pg-pool` lacks on a live pool: validation on checkout, eviction of
 * every idle connection when one proves dead, jittered lifetimes, and refilling to `min` when
 * connections are dropped.
 */
export function supervisePool(pool: Pool, settings: PoolSettings): void {
  const states = new WeakMap<PoolClient, ClientState>();
  const checkedOut = new Map<PoolClient, Checkout>();
  checkouts.set(pool, checkedOut);
  const figures = figuresOf(pool);
  /**
   * Until this moment every checkout is validated: a sibling just died, and a connection killed
   * with it can look healthy until its socket's close is processed, even if it was used since.
   */
  let suspectUntil = 0;
  /**
   * Connections not known to work since this moment are retired without a ping: when one failed
   * its validation, its idle siblings most likely share its fate (a dropped network path, a
   * suspended server), and pinging each in turn would cost a validation timeout apiece.
   */
  let evictedAt = 0;
  const invalidate = () => {
    suspectUntil = Date.now() + Math.max(settings.validateAfterIdleMs, SUSPECT_WINDOW_MS);
  };
  invalidators.set(pool, invalidate);
  const acquire = pool.connect.bind(pool) as () => Promise<PoolClient>;
  const touch = (client: PoolClient) => states.set(client, { lastUsedAt: Date.now() });

  jitterLifetimes(pool, settings.maxLifetimeSeconds);
  pool.on('connect', touch);
  const noteRetirement = countRetirements(pool, figures);
  pool.on('release', (err: unknown, client: PoolClient) => {
    if ((err && isDisconnectError(err)) || !isQueryable(client)) invalidate();
    noteRetirement(err, client);
  });
  pool.on('error', (err) => {
    if (isDisconnectError(err)) invalidate();
  });
  pool.on('remove', () => refillToMin(pool, settings.min, acquire));

  async function isUsable(client: PoolClient): Promise<boolean> {
    const state = states.get(client);
    if (!state) return true;
    if (state.lastUsedAt <= evictedAt) return false;
    const now = Date.now();
    if (now >= suspectUntil && now - state.lastUsedAt <= settings.validateAfterIdleMs) return true;
    if (await ping(client, settings.validationTimeoutMs)) {
      touch(client);
      return true;
    }
    figures.validationsFailed++;
    evictedAt = Date.now();
    return false;
  }

  async function checkout(): Promise<PoolClient> {
    const began = performance.now();
    const origin = transactionOrigin();
    // Every failed check destroys a client, and fresh clients pass, so this ends within max + 1 rounds.
    for (let round = 0; ; round++) {
      const client = await acquire();
      if (round > settings.max || (await isUsable(client))) {
        figures.acquired(performance.now() - began);
        return tracked(client, origin, checkedOut, touch);
      }
      retiring.set(client, 'eviction');
      client.release(new Error('connection failed validation'));
    }
  }

  pool.connect = ((callback?: ConnectCallback) => {
    const client = checkout();
    if (!callback) return client;
    client.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | undefined)),
      (error: Error) => callback(error),
    );
    return undefined;
  }) as Pool['connect'];
}

/** Why a connection the pool is about to close goes; set before pg-pool removes it. */
const retiring = new WeakMap<PoolClient, RetirementReason>();

/**
 * Counts the connections `pg-pool` closes, by reason. It says why only by which path it takes: a
 * client released with an error, or no longer queryable, or dropped while idle, is broken; one
 * released after its lifetime ran out is in pg-pool's private `_expired` set (checked by
 * tests/dependency-internals.int.test.ts); one removed with no such sign sat idle too long.
 * Connections closed by `pool.end()` (a shutdown) are not counted. Returns what to call on each
 * release, from the pool's one 'release' listener (a second listener would make Node copy the
 * listener list on every release): two set lookups, nothing allocated.
 */
function countRetirements(pool: Pool, figures: DatabaseFigures): (err: unknown, client: PoolClient) => void {
  const expired = (pool as unknown as { _expired?: WeakSet<PoolClient> })._expired;
  pool.on('error', (_err, client) => retiring.set(client, 'broken'));
  pool.on('remove', (client) => {
    const reason = retiring.get(client) ?? (isEnding(pool) ? undefined : 'idle');
    if (reason) figures.retired[reason]++;
  });
  return (err, client) => {
    if (retiring.has(client)) return;
    if (err || !isQueryable(client)) retiring.set(client, 'broken');
    else if (expired?.has(client)) retiring.set(client, 'lifetime');
  };
}

/**
 * `pg-pool` retires every client at the same age, so clients opened together (the warm-up, a
 * refill after a failover) would all reconnect together. It reads `maxLifetimeSeconds` from its
 * options as each client connects, so drawing a new value after every connect gives each client
 * its own lifetime, up to `LIFETIME_JITTER` shorter, with `pg-pool` still retiring idle clients on
 * time and busy ones on release.
 */
function jitterLifetimes(pool: Pool, maxLifetimeSeconds: number): void {
  if (maxLifetimeSeconds <= 0) return;
  const options = pool.options as { maxLifetimeSeconds?: number };
  const draw = () => {
    options.maxLifetimeSeconds = maxLifetimeSeconds * (1 - Math.random() * LIFETIME_JITTER);
  };
  draw();
  pool.on('connect', draw);
}

const invalidators = new WeakMap<Pool, () => void>();

/**
 * Call when a query failed because its connection died: for a moment every connection is validated
 * before it is handed out (SQLAlchemy invalidates its whole pool the same way).
 */
export function invalidatePool(pool: Pool): void {
  invalidators.get(pool)?.();
}

/** A connection out of the pool: since when, and for a transaction, the stack where it began. */
export interface Checkout {
  since: number;
  origin: Error | undefined;
  warned?: boolean;
}

const checkouts = new WeakMap<Pool, Map<PoolClient, Checkout>>();

/** Connections currently out of the pool (for leak detection). */
export function outstandingCheckouts(pool: Pool): Iterable<Checkout> {
  return checkouts.get(pool)?.values() ?? [];
}

/**
 * Tracks a checked-out client until it is released. A client whose connection dies goes back to
 * the pool (and is discarded) even if its holder never releases it: Kysely, under MikroORM,
 * releases a transaction's connection only after a successful COMMIT or ROLLBACK, so when the
 * server kills the connection mid-transaction both fail and the slot would be lost for good
 * (enough kills and the pool starves). A later release by the holder is then a no-op instead of
 * pg-pool's double-release error.
 */
function tracked(
  client: PoolClient,
  origin: Error | undefined,
  checkedOut: Map<PoolClient, Checkout>,
  onRelease: (client: PoolClient) => void,
): PoolClient {
  const release = client.release;
  let released = false;
  checkedOut.set(client, { since: Date.now(), origin });
  const releaseOnce = (error?: Error | boolean) => {
    if (released) return;
    released = true;
    checkedOut.delete(client);
    client.removeListener('end', onEnd);
    if (!error) onRelease(client);
    release(error);
  };
  const onEnd = () => releaseOnce(new Error('connection ended while checked out'));
  client.once('end', onEnd);
  client.release = releaseOnce;
  return client;
}

/**
 * Opens connections until the pool holds `min`, so the first requests don't pay for connecting.
 * Best effort: a server that allows fewer connections (a role's `connection limit`) must not fail
 * the boot, and every connection opened is given back, or `stop()` would wait for them.
 */
export async function warmPool(pool: Pool, min: number, log: Logger): Promise<void> {
  const failures = await holdAtOnce(() => pool.connect(), min);
  if (failures.length === 0) return;
  log.warn(
    { opened: min - failures.length, wanted: min, error: (failures[0] as Error).message },
    `Pool warm-up opened ${min - failures.length} of ${min} connections (DB_POOL_MIN); the others will be opened when needed`,
  );
}

/**
 * Takes `count` clients at once, so idle clients cannot be handed out twice and the pool must open
 * the rest, then gives them all back. Returns why the others could not be had.
 */
async function holdAtOnce(acquire: () => Promise<PoolClient>, count: number): Promise<unknown[]> {
  const attempts = await Promise.allSettled(Array.from({ length: count }, acquire));
  const failures: unknown[] = [];
  for (const attempt of attempts) {
    if (attempt.status === 'fulfilled') attempt.value.release();
    else failures.push(attempt.reason);
  }
  return failures;
}

const refillScheduled = new WeakSet<Pool>();

function refillToMin(pool: Pool, min: number, acquire: () => Promise<PoolClient>): void {
  if (isEnding(pool) || pool.totalCount >= min || refillScheduled.has(pool)) return;
  refillScheduled.add(pool);
  setImmediate(() => {
    refillScheduled.delete(pool);
    const missing = min - pool.totalCount;
    if (isEnding(pool) || missing <= 0) return;
    // Idle clients are held too, or the pool would hand them out instead of opening new ones.
    // The database may be down; the next checkout connects on demand, so a failed refill is harmless.
    void holdAtOnce(acquire, pool.idleCount + missing);
  }).unref();
}

/**
 * `pg` exposes these flags only as private fields (`_queryable`, `_ending` on a client, `ending`,
 * `ended` on a pool), stable across pg 8; tests/dependency-internals.int.test.ts fails if they go.
 */
function isQueryable(client: PoolClient): boolean {
  const flags = client as unknown as { _queryable?: boolean; _ending?: boolean };
  return flags._queryable !== false && flags._ending !== true;
}

function isEnding(pool: Pool): boolean {
  const flags = pool as unknown as { ending?: boolean; ended?: boolean };
  return Boolean(flags.ending || flags.ended);
}

async function ping(client: PoolClient, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([client.query('select 1').then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Pool figures for health checks. */
export function poolStats(pool: Pool): { total: number; idle: number; waiting: number } {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

/** The live `pg.Pool` behind the ORM (connects if needed). */
export async function nativePool(orm: Orm): Promise<Pool> {
  return (await orm.driver.getConnection().getNativeClient()) as Pool;
}
