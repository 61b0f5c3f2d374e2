import type { ResolutionContext } from 'inversify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { boundDatabases } from '../database-registry.js';
import { InversifyMikroOrmError } from '../errors.js';
import type { Orm } from '../orm.js';
import { type PoolFigures, poolFigures, RETIREMENT_REASONS } from '../pool-figures.js';

/** One database, by its ORM. */
export interface OrmPoolMetrics {
  /** The database's ORM: `container.get(MikroORM)`, `container.get(MikroORM, { name: 'reports' })`. */
  orm: Orm;
  /** The `database` label; by default the ORM's `contextName`, which `databaseModule` sets to the database's name. */
  database?: string;
}

/** Every database a container holds, each labelled with its name. */
export interface ContainerPoolMetrics {
  /** The container, or a binding's resolution context (`toDynamicValue((context) => ...)`). */
  container: Pick<ResolutionContext, 'get' | 'getAll'>;
}

export type PoolMetricsOptions = OrmPoolMetrics | ContainerPoolMetrics;

/**
 * Seconds: an idle connection is handed out in well under a millisecond, a new one takes a few,
 * a validation timeout or a full pool seconds, and the acquire timeout defaults to 30 s.
 */
const ACQUIRE_WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Databases = Map<string, PoolFigures>;

/** One set of metrics per registry, with a `database` label per database registered in it. */
const registered = new WeakMap<Registry, { databases: Databases; acquireWait: Histogram<'database'> }>();

/**
 * Registers the pool figures of a database (`{ orm }`), or of every database bound in a container
 * (`{ container }`), in `registry` (prom-client): connections open, idle and waiting, read at
 * scrape time; the acquire wait histogram; validations failed; connections retired by reason;
 * reads retried; leak warnings; and the outcome and duration of the schema step. Every series
 * carries a `database` label, so several databases share one registry; a name registered twice is
 * an error. Counters count from the creation of the ORM's pool; the histogram observes from this
 * call on, so register before `AppLifecycle.start()` to see every checkout.
 */
export function registerPoolMetrics(registry: Registry, options: PoolMetricsOptions): void {
  if ('container' in options) {
    for (const { name, orm } of boundDatabases(options.container)) registerDatabase(registry, orm, name);
  } else {
    registerDatabase(registry, options.orm, options.database ?? options.orm.config.get('contextName'));
  }
}

function registerDatabase(registry: Registry, orm: Orm, name: string): void {
  const metrics = registered.get(registry) ?? createMetrics(registry);
  if (metrics.databases.has(name)) {
    throw new InversifyMikroOrmError(
      'config',
      `Pool metrics of database "${name}" are already registered in this registry: register each database once, each with its own name (registerPoolMetrics(registry, { orm, database: 'reports' })).`,
    );
  }
  const figures = poolFigures(orm);
  metrics.databases.set(name, figures);
  metrics.acquireWait.zero({ database: name });
  const observe = metrics.acquireWait.labels({ database: name }).observe;
  figures.onAcquire((waitMs) => observe(waitMs / 1000));
}

function createMetrics(registry: Registry) {
  const databases: Databases = new Map();
  const registers = [registry];
  const gauge = (name: string, help: string, read: (figures: PoolFigures) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['database'],
      registers,
      collect() {
        for (const [database, figures] of databases) this.set({ database }, read(figures));
      },
    });
  const counter = (name: string, help: string, read: (figures: PoolFigures) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['database'],
      registers,
      collect() {
        this.reset();
        for (const [database, figures] of databases) this.inc({ database }, read(figures));
      },
    });

  gauge('db_pool_connections', 'Connections open in the pool (idle or checked out)', (f) => f.connections.total);
  gauge('db_pool_connections_idle', 'Connections idle in the pool', (f) => f.connections.idle);
  gauge('db_pool_waiting_requests', 'Callers waiting for a connection', (f) => f.connections.waiting);
  counter(
    'db_pool_validations_failed_total',
    'Checkouts whose validation (select 1) failed or timed out (DB_POOL_VALIDATION_TIMEOUT_MS)',
    (f) => f.validationsFailed,
  );
  counter('db_reads_retried_total', 'Reads sent again on a fresh connection after theirs died', (f) => f.readsRetried);
  counter(
    'db_pool_leak_warnings_total',
    'Connections held out of the pool longer than DB_LEAK_WARN_MS',
    (f) => f.leakWarnings,
  );
  new Counter({
    name: 'db_pool_connections_retired_total',
    help: 'Connections the pool closed: lifetime (DB_POOL_MAX_LIFETIME_S), idle (DB_POOL_IDLE_TIMEOUT_MS above DB_POOL_MIN), eviction (failed validation, or idle when a sibling failed it), broken (dropped by the server or the network)',
    labelNames: ['database', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const [database, figures] of databases) {
        for (const reason of RETIREMENT_REASONS) this.inc({ database, reason }, figures.retired[reason]);
      }
    },
  });
  new Gauge({
    name: 'db_schema_step_duration_seconds',
    help: 'How long the schema step of the last start took, labelled with what it did (unchanged, updated, already-updated, failed)',
    labelNames: ['database', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const [database, { schemaStep }] of databases) {
        if (schemaStep) this.set({ database, outcome: schemaStep.outcome }, schemaStep.durationMs / 1000);
      }
    },
  });
  const acquireWait = new Histogram({
    name: 'db_pool_acquire_wait_seconds',
    help: 'How long each checkout waited for a validated connection',
    labelNames: ['database'],
    buckets: ACQUIRE_WAIT_BUCKETS,
    registers,
  });
  const metrics = { databases, acquireWait };
  registered.set(registry, metrics);
  return metrics;
}
