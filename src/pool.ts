import type { Pool, PoolClient } from 'pg';
import { isDisconnectError } from './database-errors.js';

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
  /** How long a caller waits for a connection before failing (`pool_timeout`). */
  acquireTimeoutMs: number;
  /** Connections above `min` are closed after sitting idle this long. */
  idleTimeoutMs: number;
}

/** Up to this fraction of the lifetime is shaved off each connection, at random. */
const LIFETIME_JITTER = 0.2;
const VALIDATION_TIMEOUT_CAP_MS = 5000;

interface ClientState {
  connectedAt: number;
  retireAt: number;
  lastUsedAt: number;
}

type ConnectCallback = (err: Error | undefined, client?: PoolClient, done?: (release?: unknown) => void) => void;

/**
 * Puts the pool behaviours `pg-pool` lacks on a live pool: validation on checkout, jittered
 * retirement, eviction after a disconnect, and refilling to `min` when connections are dropped.
 */
export function supervisePool(pool: Pool, settings: PoolSettings): void {
  const states = new WeakMap<PoolClient, ClientState>();
  /** Clients connected before this moment are suspect: one of their siblings died. */
  let invalidatedAt = 0;
  const acquire = pool.connect.bind(pool) as () => Promise<PoolClient>;

  pool.on('connect', (client) => {
    const now = Date.now();
    const lifetimeMs = settings.maxLifetimeSeconds * 1000 * (1 - Math.random() * LIFETIME_JITTER);
    states.set(client, { connectedAt: now, retireAt: lifetimeMs > 0 ? now + lifetimeMs : Infinity, lastUsedAt: now });
  });
  pool.on('release', (err: unknown, client: PoolClient) => {
    const state = states.get(client);
    if (state) state.lastUsedAt = Date.now();
    if ((err && isDisconnectError(err)) || !isQueryable(client)) invalidatedAt = Date.now();
  });
  pool.on('error', (err) => {
    if (isDisconnectError(err)) invalidatedAt = Date.now();
  });
  pool.on('remove', () => refillToMin(pool, settings.min, acquire));

  async function isUsable(client: PoolClient): Promise<boolean> {
    const state = states.get(client);
    if (!state) return true;
    const now = Date.now();
    if (now >= state.retireAt) return false;
    const suspect = state.connectedAt < invalidatedAt && state.lastUsedAt < invalidatedAt;
    if (!suspect && now - state.lastUsedAt <= settings.validateAfterIdleMs) return true;
    const ok = await ping(
      client,
      Math.min(settings.acquireTimeoutMs || VALIDATION_TIMEOUT_CAP_MS, VALIDATION_TIMEOUT_CAP_MS),
    );
    if (ok) state.lastUsedAt = Date.now();
    return ok;
  }

  async function checkout(): Promise<PoolClient> {
    // Every failed check destroys a client, and fresh clients pass, so this ends within max + 1 rounds.
    for (let round = 0; ; round++) {
      const client = await acquire();
      if (round > settings.max || (await isUsable(client))) return client;
      client.release(new Error('connection failed validation or reached its lifetime'));
    }
  }

  pool.connect = ((callback?: ConnectCallback) => {
    const checkedOut = checkout();
    if (!callback) return checkedOut;
    checkedOut.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | undefined)),
      (error: Error) => callback(error),
    );
    return undefined;
  }) as Pool['connect'];
}

/** Opens connections until the pool holds `min`, so the first requests don't pay for connecting. */
export async function warmPool(pool: Pool, min: number): Promise<void> {
  // Held all at once, so idle clients cannot be handed out twice and the pool must open the rest.
  const clients = await Promise.all(Array.from({ length: min }, () => pool.connect()));
  for (const client of clients) client.release();
}

const refillScheduled = new WeakSet<Pool>();

function refillToMin(pool: Pool, min: number, acquire: () => Promise<PoolClient>): void {
  if (isEnding(pool) || pool.totalCount >= min || refillScheduled.has(pool)) return;
  refillScheduled.add(pool);
  setImmediate(() => {
    refillScheduled.delete(pool);
    if (isEnding(pool)) return;
    const missing = min - pool.totalCount;
    for (let i = 0; i < missing; i++) {
      // The database may be down; the next checkout connects on demand, so a failed refill is harmless.
      acquire().then(
        (client) => client.release(),
        () => undefined,
      );
    }
  }).unref();
}

/** `pg` exposes these flags only as underscore fields; they are stable across pg 8. */
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
