import type { Socket } from 'node:net';
import type { AnyEntity, Configuration, ConnectionOptions, Dictionary, EntityData, Transaction } from '@mikro-orm/core';
import {
  type NativeQueryBuilder,
  PostgreSqlConnection,
  type QueryResult,
  type RawQueryFragment,
} from '@mikro-orm/postgresql';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { queryWithin } from './bounded-query.js';
import { causeChain, endedOnlyTheStatement } from './database-errors.js';
import { type Logger, stderrLogger } from './logger.js';
import { invalidatePool } from './pool.js';
import { withTimeout } from './timeout.js';

export const DEFAULT_REPLICA_TIMEOUT_MS = 5000;
/** A replica that failed is left alone this long, then probed, and reads return to it once it answers. */
const REPLICA_RETRY_AFTER_MS = 1000;

/** MikroORM's replica options, plus what this library needs to route reads around a failing replica. */
export interface ReplicaOptions extends ConnectionOptions {
  /** A read not answered within this is abandoned (the replica is taken for stalled) and sent to the primary. */
  replicaTimeoutMs?: number;
  /** `host:port/database`, for logs (never the password). */
  endpoint?: string;
}

/** What a probe of one replica found. */
export interface ReplicaStatus {
  name: string;
  status: 'ok' | 'down';
  /**
   * How far behind the primary its data is, in seconds: 0 when it has replayed everything it
   * received, `null` when unknown (down, or nothing replayed yet).
   */
  lagSeconds: number | null;
  /** Why it is down (never a password). */
  reason?: string;
}

/**
 * `pg_last_xact_replay_timestamp()` alone grows while the primary is idle (no transaction to
 * replay); a replica that has replayed all it received is current, whatever that timestamp says.
 */
const LAG_SQL = `select case
    when not pg_is_in_recovery() or pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
    else extract(epoch from now() - pg_last_xact_replay_timestamp())
  end::float8 as lag_seconds`;

/** A replica answering "canceling statement due to conflict with recovery" is fine; the read is not lost either. */
function isRecoveryConflict(error: unknown): boolean {
  for (const link of causeChain(error)) {
    if (typeof link.message === 'string' && /conflict with recovery/i.test(link.message)) return true;
  }
  return false;
}

class ReplicaStalled extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

type Query = string | NativeQueryBuilder | RawQueryFragment;

/**
 * The connection to one read replica. A read it cannot serve goes to the primary instead of
 * failing: the replica cannot have applied anything (a standby is read-only), so sending the
 * statement again is always safe. Then the replica is left alone for `REPLICA_RETRY_AFTER_MS`,
 * probed, and reads return to it once it answers.
 *
 * Served by the primary: a read whose connection died or could not be opened (the replica is
 * marked down), one not answered within `replicaTimeoutMs` (a stalled replica: it is marked down
 * and its connections are closed, which ends every statement waiting on them), and one cancelled
 * by a recovery conflict (the replica stays up). An error the server gave for the statement itself
 * (a syntax error, a write sent to the replica) is the caller's, as it would be on the primary.
 */
export class ReplicaConnection extends PostgreSqlConnection {
  #log: () => Logger = () => stderrLogger;
  #down?: { since: number; retryAt: number; reason: string };
  #probe?: Promise<ReplicaStatus>;
  #pool?: Pool;
  readonly #clients = new Set<PoolClient>();

  constructor(
    config: Configuration,
    options: ReplicaOptions,
    private readonly primary: () => PostgreSqlConnection,
  ) {
    super(config, options, 'read');
  }

  get name(): string {
    return this.options.name ?? 'replica';
  }

  get endpoint(): string {
    return (this.options as ReplicaOptions).endpoint ?? this.name;
  }

  get timeoutMs(): number {
    return (this.options as ReplicaOptions).replicaTimeoutMs ?? DEFAULT_REPLICA_TIMEOUT_MS;
  }

  /** Where state changes are logged: the lifecycle hands over its logger (the application's, once it has one). */
  useLogger(log: () => Logger): void {
    this.#log = log;
  }

  /** Whether reads may be sent here. A replica down past its back-off is probed (in the background) first. */
  isAvailable(): boolean {
    if (!this.#down) return true;
    if (Date.now() >= this.#down.retryAt) void this.check(this.timeoutMs);
    return false;
  }

  /** Probes the replica (`select` of its lag, within `timeoutMs`): an answer brings it back, no answer takes it out. */
  check(timeoutMs: number): Promise<ReplicaStatus> {
    this.#probe ??= this.#probeOnce(timeoutMs).finally(() => {
      this.#probe = undefined;
    });
    return this.#probe;
  }

  override createKyselyDialect(overrides: PoolConfig): ReturnType<PostgreSqlConnection['createKyselyDialect']> {
    const { onPoolCreated, ...rest } = overrides as PoolConfig & { onPoolCreated?: (pool: Pool) => unknown };
    const onCreated = (pool: Pool) => {
      this.#watch(pool);
      return onPoolCreated?.(pool);
    };
    return super.createKyselyDialect({ ...rest, onPoolCreated: onCreated } as PoolConfig);
  }

  override async execute<
    T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[],
  >(
    query: Query,
    params?: readonly unknown[] | Dictionary,
    method?: 'all' | 'get' | 'run',
    ctx?: Transaction,
    loggerContext?: Dictionary,
  ): Promise<T> {
    // A transaction begun on this replica (MikroORM does so only to apply a session context) stays on it.
    if (ctx) return super.execute<T>(query, params, method, ctx, loggerContext);
    // Chosen for this read before it went down.
    if (this.#down) return this.primary().execute<T>(query, params, method, undefined, loggerContext);
    const attempt = super.execute<T>(query, params, method, ctx, loggerContext);
    try {
      return await withTimeout(attempt, this.timeoutMs, () => new ReplicaStalled(this.timeoutMs));
    } catch (error) {
      if (!this.#fallsBack(error, loggerContext)) throw error;
      attempt.catch(noop);
      if (error instanceof ReplicaStalled) this.#closeConnections();
      if (!isRecoveryConflict(error)) this.#markDown((error as Error).message ?? String(error));
      return this.primary().execute<T>(query, params, method, undefined, loggerContext);
    }
  }

  /** A statement the server refused for its own content fails the same on the primary; one the caller aborted is over. */
  #fallsBack(error: unknown, loggerContext: Dictionary | undefined): boolean {
    if ((loggerContext?.signal as AbortSignal | undefined)?.aborted) return false;
    return isRecoveryConflict(error) || !endedOnlyTheStatement(error);
  }

  async #probeOnce(timeoutMs: number): Promise<ReplicaStatus> {
    try {
      const pool = (await this.getNativeClient()) as Pool;
      const [row] = await queryWithin<{ lag_seconds: number | null }>(pool, LAG_SQL, AbortSignal.timeout(timeoutMs));
      this.#markUp();
      return { name: this.name, status: 'ok', lagSeconds: row?.lag_seconds ?? null };
    } catch (error) {
      const reason = error instanceof DOMException ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      this.#markDown(reason);
      return { name: this.name, status: 'down', lagSeconds: null, reason };
    }
  }

  #markDown(reason: string): void {
    const now = Date.now();
    if (!this.#down) {
      this.#log().warn(
        { replica: this.name, endpoint: this.endpoint, reason, retryInMs: REPLICA_RETRY_AFTER_MS },
        `Read replica ${this.name} is unavailable; its reads go to the primary until it answers again`,
      );
    }
    this.#down = { since: this.#down?.since ?? now, retryAt: now + REPLICA_RETRY_AFTER_MS, reason };
    // Its idle connections most likely died with it: each is checked before it serves again.
    if (this.#pool) invalidatePool(this.#pool);
  }

  #markUp(): void {
    if (!this.#down) return;
    this.#log().info(
      { replica: this.name, endpoint: this.endpoint, downForMs: Date.now() - this.#down.since },
      `Read replica ${this.name} answers again; reads return to it`,
    );
    this.#down = undefined;
  }

  #watch(pool: Pool): void {
    this.#pool = pool;
    pool.on('connect', (client) => this.#clients.add(client));
    pool.on('remove', (client) => this.#clients.delete(client));
  }

  /**
   * A stalled network answers nothing, not even a close: waiting statements would hold their
   * connections (and the pool's slots) until the kernel's keepalive gives up, minutes later.
   * Destroying the sockets ends those statements now, and the pool opens fresh connections when
   * the replica is back.
   */
  #closeConnections(): void {
    for (const client of this.#clients) socketOf(client).destroy();
  }
}

/** `pg` exposes a client's socket only as `connection.stream`; stable across pg 8. */
function socketOf(client: PoolClient): Socket {
  return (client as unknown as { connection: { stream: Socket } }).connection.stream;
}

/** A replica that is up, chosen at random, or the primary when none is. */
export function readConnection(
  replicas: readonly ReplicaConnection[],
  primary: PostgreSqlConnection,
): PostgreSqlConnection {
  const available = replicas.filter((replica) => replica.isAvailable());
  if (available.length === 0) return primary;
  return available[Math.floor(Math.random() * available.length)] as ReplicaConnection;
}

const noop = () => undefined;
