import type { Configuration } from '@mikro-orm/core';
import type { Pool } from 'pg';
import type { Orm } from './orm.js';
import type { SchemaSyncOutcome } from './schema-sync.js';

/**
 * Why the pool closed a connection: it reached its lifetime (`DB_POOL_MAX_LIFETIME_S`), sat idle
 * above the minimum (`DB_POOL_IDLE_TIMEOUT_MS`), failed its validation or was idle when a sibling
 * failed it (`eviction`), or died under the pool (`broken`: the server or the network dropped it).
 */
export type RetirementReason = 'lifetime' | 'idle' | 'eviction' | 'broken';

export const RETIREMENT_REASONS: readonly RetirementReason[] = ['lifetime', 'idle', 'eviction', 'broken'];

export interface SchemaStepFigures {
  /** What the schema step of `AppLifecycle.start()` did, or `failed` when it threw. */
  outcome: SchemaSyncOutcome | 'failed';
  durationMs: number;
}

export interface ConnectionCounts {
  /** Connections open (idle or checked out). */
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

/**
 * What the pool of one database has done, read when they are needed (a Prometheus scrape): the
 * counters only grow, from the moment the ORM created its pool. The `inversify-mikro-orm/metrics`
 * entry exports them to prom-client; anything else can read them the same way.
 */
export interface PoolFigures {
  /** Zero before the ORM has created its pool. */
  readonly connections: ConnectionCounts;
  /** Checkouts whose `select 1` failed or got no answer within `DB_POOL_VALIDATION_TIMEOUT_MS`. */
  readonly validationsFailed: number;
  readonly retired: Readonly<Record<RetirementReason, number>>;
  /** Reads sent a second time after their connection died (see `retryableRead`). */
  readonly readsRetried: number;
  /** Connections held longer than `DB_LEAK_WARN_MS` (each is warned about once). */
  readonly leakWarnings: number;
  /** Undefined until the schema step has run (and always with `DB_SCHEMA_UPDATE=off`). */
  readonly schemaStep: SchemaStepFigures | undefined;
  /**
   * Calls `listener` after every checkout with how long it waited, in milliseconds, from asking
   * for a connection to holding a validated one. Returns the function that stops the calls.
   */
  onAcquire(listener: (waitMs: number) => void): () => void;
}

/** The writable side, for the core modules that see the events. */
export class DatabaseFigures implements PoolFigures {
  validationsFailed = 0;
  readonly retired: Record<RetirementReason, number> = { lifetime: 0, idle: 0, eviction: 0, broken: 0 };
  readsRetried = 0;
  leakWarnings = 0;
  schemaStep: SchemaStepFigures | undefined;
  pool: Pool | undefined;
  #acquireListeners: Array<(waitMs: number) => void> = [];

  get connections(): ConnectionCounts {
    const pool = this.pool;
    return pool
      ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
      : { total: 0, idle: 0, waiting: 0 };
  }

  onAcquire(listener: (waitMs: number) => void): () => void {
    this.#acquireListeners = [...this.#acquireListeners, listener];
    return () => {
      this.#acquireListeners = this.#acquireListeners.filter((other) => other !== listener);
    };
  }

  /** On every checkout: an indexed loop over a list that is usually empty, so nothing is allocated. */
  acquired(waitMs: number): void {
    const listeners = this.#acquireListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]?.(waitMs);
  }
}

/** Keyed by the ORM's `Configuration` (one per ORM) and by each pool attached to it. */
const figures = new WeakMap<object, DatabaseFigures>();

/** The figures of `owner`, created on first use. */
export function figuresOf(owner: Configuration | Pool): DatabaseFigures {
  let found = figures.get(owner);
  if (!found) {
    found = new DatabaseFigures();
    figures.set(owner, found);
  }
  return found;
}

/**
 * Makes the events of `pool` count toward the figures of the ORM whose configuration is `config`.
 * Called as the ORM creates the pool, before anything watches it.
 */
export function attachPool(pool: Pool, config: Configuration): void {
  const database = figuresOf(config);
  database.pool = pool;
  figures.set(pool, database);
}

/** The figures of the database behind `orm`: `container.get(MikroORM)`, or a named database's ORM. */
export function poolFigures(orm: Orm): PoolFigures {
  return figuresOf(orm.config);
}

/** Runs the schema step of a start, recording in the ORM's figures what it did (or `failed`) and how long it took. */
export async function recordSchemaStep<T extends SchemaStepFigures['outcome']>(
  orm: Orm,
  step: () => Promise<T>,
): Promise<T> {
  const figures = figuresOf(orm.config);
  const began = performance.now();
  try {
    const outcome = await step();
    figures.schemaStep = { outcome, durationMs: performance.now() - began };
    return outcome;
  } catch (error) {
    figures.schemaStep = { outcome: 'failed', durationMs: performance.now() - began };
    throw error;
  }
}
