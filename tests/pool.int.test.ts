import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import pg, { type Pool, type PoolClient } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppLifecycle, databaseModule, loadDatabaseConfig, nativePool } from '../src/index.js';
import { dropEveryConnection, serverConnections } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { cannotHoldThroughPgBouncer, pgBouncerClients, throughPgBouncer } from './helpers/pooler.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface StartedPool {
  lifecycle: AppLifecycle;
  orm: MikroORM;
  pool: Pool;
  applicationName: string;
  warnings: string[];
  /** What each warning carried besides its message (the leak warning's stack). */
  warningDetails: Record<string, unknown>[];
}

let db: IsolatedDatabase;
const started: StartedPool[] = [];

beforeAll(async () => {
  db = await testDatabase.create('pool');
});

afterEach(async () => {
  await Promise.all(started.splice(0).map(({ lifecycle }) => lifecycle.stop()));
});

afterAll(async () => {
  await db.drop();
});

/** A started container on this file's database, its connections tagged with their own application_name. */
async function startPool(env: Record<string, string> = {}, url = db.url): Promise<StartedPool> {
  const applicationName = uniqueApplicationName('pool');
  const config = loadDatabaseConfig(
    { entities: [Note], driverOptions: { application_name: applicationName } },
    { DATABASE_URL: url, DB_SCHEMA_UPDATE: 'off', ...env },
  );
  const container = new Container();
  container.load(databaseModule(config));
  const warnings: string[] = [];
  const warningDetails: Record<string, unknown>[] = [];
  const lifecycle = container.get(AppLifecycle).useLogger({
    info: () => undefined,
    warn: (details, message) => {
      warnings.push(message);
      warningDetails.push(details as Record<string, unknown>);
    },
    error: (_details, message) => warnings.push(message),
  });
  const entry = { lifecycle, orm: container.get(MikroORM), applicationName, warnings, warningDetails } as StartedPool;
  started.push(entry);
  await lifecycle.start();
  entry.pool = await nativePool(entry.orm);
  return entry;
}

/**
 * Identifies the connections of `applicationName` where they end: backends' pids, or through
 * PgBouncer its clients' ports (unique among open connections).
 */
async function connectionIds(applicationName: string): Promise<number[]> {
  if (throughPgBouncer()) {
    return (await pgBouncerClients(db.url))
      .filter((row) => row.application_name === applicationName)
      .map((row) => row.port);
  }
  return backendPids(applicationName);
}

async function backendPids(applicationName: string): Promise<number[]> {
  const rows = await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
    applicationName,
  ]);
  return rows.map((row) => row.pid);
}

/** Kills the backends and waits until they are gone (pg_terminate_backend's timeout form). */
async function terminate(pids: number[]): Promise<void> {
  await db.query('select pg_terminate_backend(pid, 5000) from unnest($1::int[]) as pid', [pids]);
}

function socketOf(client: PoolClient): Socket {
  return (client as unknown as { connection: { stream: Socket } }).connection.stream;
}

/** The timer the kernel runs for the IPv4 socket bound to `localPort` (/proc/net/tcp): 02 is keepalive. */
function kernelTimerOf(localPort: number): string | undefined {
  const port = localPort.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , , , timer] = line.trim().split(/\s+/);
    if (local?.endsWith(`:${port}`)) return timer?.split(':')[0];
  }
  return undefined;
}

describe('the live pg.Pool with the default settings', () => {
  it('receives the settings pg-pool owns, a jittered lifetime and TCP keepalive, and nothing it does not know', async () => {
    const { pool } = await startPool();
    expect(pool.options).toMatchObject({
      min: 5,
      max: 15,
      connectionTimeoutMillis: 30000,
      idleTimeoutMillis: 10000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10000,
    });
    expect(pool.options.maxLifetimeSeconds).toBeGreaterThanOrEqual(240);
    expect(pool.options.maxLifetimeSeconds).toBeLessThanOrEqual(300);
    expect(pool.options).not.toHaveProperty('validateAfterIdleMillis');
  });

  it('keeps min connections warm after start', async () => {
    const { pool, applicationName } = await startPool();
    expect(pool.totalCount).toBe(5);
    expect(await serverConnections(db, applicationName)).toBe(5);
  });

  it('has the kernel probe its sockets (TCP keepalive timer armed, as /proc/net/tcp reports it)', async () => {
    const { pool } = await startPool();
    const client = await pool.connect();
    try {
      expect(kernelTimerOf(socketOf(client).localPort as number)).toBe('02');
    } finally {
      client.release();
    }
  });
});

describe('lifetime jitter', () => {
  it.skipIf(
    cannotHoldThroughPgBouncer(
      'lifetime jitter',
      "it times each backend from pg_stat_activity.backend_start (microseconds); PgBouncer's SHOW CLIENTS gives connect_time to the second, coarser than the 800 ms window checked",
    ),
  )(
    'retires connections opened together at different ages, each within the last 20% of DB_POOL_MAX_LIFETIME_S',
    async () => {
      const lifetimeMs = 4000;
      const { applicationName } = await startPool({
        DB_POOL_MIN: '8',
        DB_POOL_MAX_LIFETIME_S: String(lifetimeMs / 1000),
      });
      const rows = await db.query<{ pid: number; started: Date }>(
        'select pid, backend_start as started from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      expect(rows).toHaveLength(8);
      const retiredAt = new Map<number, number>();
      while (retiredAt.size < rows.length && Date.now() - Number(rows[0]?.started) < lifetimeMs * 2) {
        const alive = new Set(await backendPids(applicationName));
        for (const { pid } of rows) if (!alive.has(pid) && !retiredAt.has(pid)) retiredAt.set(pid, Date.now());
        await sleep(25);
      }

      const ages = rows.map(({ pid, started }) => (retiredAt.get(pid) ?? Number.NaN) - started.getTime());
      for (const age of ages) {
        expect(age).toBeGreaterThanOrEqual(lifetimeMs * 0.8 - 100);
        expect(age).toBeLessThanOrEqual(lifetimeMs + 300);
      }
      // Without jitter they would all go within a few milliseconds of each other (the time it took to open them).
      expect(Math.max(...ages) - Math.min(...ages)).toBeGreaterThan(150);
      await expect.poll(() => serverConnections(db, applicationName), { timeout: 5000 }).toBe(8);
    },
  );
});

describe('idle timeout above the minimum', () => {
  it('closes the extra connections after DB_POOL_IDLE_TIMEOUT_MS and keeps the minimum open', async () => {
    const idleTimeoutMs = 500;
    const { pool, applicationName } = await startPool({
      DB_POOL_MIN: '2',
      DB_POOL_MAX: '6',
      DB_POOL_IDLE_TIMEOUT_MS: String(idleTimeoutMs),
    });
    const clients = await Promise.all(Array.from({ length: 6 }, () => pool.connect()));
    for (const client of clients) client.release();
    const releasedAt = Date.now();
    expect(await serverConnections(db, applicationName)).toBe(6);

    await expect.poll(() => serverConnections(db, applicationName), { timeout: 5000, interval: 20 }).toBe(2);
    expect(Date.now() - releasedAt).toBeGreaterThanOrEqual(idleTimeoutMs);
    await sleep(idleTimeoutMs * 3);
    expect(await serverConnections(db, applicationName)).toBe(2);
    expect(pool.totalCount).toBe(2);
  });
});

describe('refill to the minimum', () => {
  /** Starts a pool of 3, ends the connections `kill` picks, and waits for the pool to be back at 3 without them. */
  async function expectRefill(kill: (applicationName: string, ids: number[]) => Promise<number[]>): Promise<void> {
    const { pool, applicationName } = await startPool({ DB_POOL_MIN: '3' });
    const before = await connectionIds(applicationName);
    expect(before).toHaveLength(3);
    const killed = await kill(applicationName, before);

    await expect
      .poll(async () => {
        const now = await connectionIds(applicationName);
        return { total: now.length, survivors: now.filter((id) => killed.includes(id)) };
      })
      .toEqual({ total: 3, survivors: [] });
    expect(pool.totalCount).toBe(3);
  }

  it('opens new connections up to DB_POOL_MIN after every backend is terminated, without any checkout', async () => {
    await expectRefill(async (applicationName, ids) => {
      await dropEveryConnection(db, applicationName);
      return ids;
    });
  });

  it.skipIf(
    cannotHoldThroughPgBouncer(
      'refill after one backend is terminated',
      'a backend terminated behind PgBouncer leaves its client connection open (nothing for the pool to refill), and PgBouncer 1.18 cannot drop one client connection',
    ),
  )('opens new connections up to DB_POOL_MIN after one backend is terminated, without any checkout', async () => {
    await expectRefill(async (_, pids) => {
      await terminate(pids.slice(0, 1));
      return pids.slice(0, 1);
    });
  });
});

describe('leak warnings (DB_LEAK_WARN_MS)', () => {
  const LEAK_WARN_MS = 200;
  const leakWarnings = ({ warnings, warningDetails }: StartedPool): Array<Record<string, unknown>> =>
    warnings.flatMap((message, at) =>
      message.includes('out of the pool for more than') ? [{ ...warningDetails[at], message }] : [],
    );

  it('name the function that began a transaction left open, once', async () => {
    const started = await startPool({ DB_POOL_MIN: '1', DB_LEAK_WARN_MS: String(LEAK_WARN_MS) });
    const em = started.orm.em.fork();
    async function beginsAndForgets(): Promise<void> {
      await em.begin();
      await em.execute('select 1');
    }
    await beginsAndForgets();
    try {
      await expect.poll(() => leakWarnings(started), { timeout: 3000 }).toHaveLength(1);
      await sleep(LEAK_WARN_MS * 2);
      const [warning] = leakWarnings(started);
      expect(leakWarnings(started)).toHaveLength(1);
      expect(warning?.message).toContain('held by a transaction left open');
      expect(String(warning?.stack)).toContain('beginsAndForgets');
      expect(Number(warning?.heldForMs)).toBeGreaterThanOrEqual(LEAK_WARN_MS);
    } finally {
      await em.rollback();
    }
  });

  it('name the function that began an em.transactional() whose callback runs too long', async () => {
    const started = await startPool({ DB_POOL_MIN: '1', DB_LEAK_WARN_MS: String(LEAK_WARN_MS) });
    async function slowUnitOfWork(): Promise<void> {
      await started.orm.em.fork().transactional(async (em) => {
        await em.execute('select 1');
        await sleep(LEAK_WARN_MS * 3);
      });
    }
    await slowUnitOfWork();
    const [warning] = leakWarnings(started);
    expect(leakWarnings(started)).toHaveLength(1);
    expect(String(warning?.stack)).toContain('slowUnitOfWork');
  });

  it('say a flush held up is not a transaction the application began, with no stack (MikroORM records none for its own)', async () => {
    const started = await startPool({
      DB_POOL_MIN: '1',
      DB_LEAK_WARN_MS: String(LEAK_WARN_MS),
      DB_SCHEMA_UPDATE: 'safe',
    });
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('begin; lock table note in access exclusive mode');
      const em = started.orm.em.fork();
      em.create(Note, { body: 'waits for the lock' });
      const flushing = em.flush();
      await expect.poll(() => leakWarnings(started), { timeout: 3000 }).toHaveLength(1);
      await locker.query('commit');
      await flushing;
      const [warning] = leakWarnings(started);
      expect(warning?.message).toContain('not for a transaction the application began');
      expect(warning?.stack).toBeUndefined();
    } finally {
      await locker.end();
    }
  });

  it('say a connection taken from the pool by hand and held is not a transaction the application began', async () => {
    const started = await startPool({ DB_POOL_MIN: '1', DB_LEAK_WARN_MS: String(LEAK_WARN_MS) });
    const client = await started.pool.connect();
    try {
      await expect.poll(() => leakWarnings(started), { timeout: 3000 }).toHaveLength(1);
      const [warning] = leakWarnings(started);
      expect(warning?.message).toContain('a connection taken from the pool by hand');
      expect(warning?.stack).toBeUndefined();
    } finally {
      client.release();
    }
  });
});

describe('a connection killed mid-transaction', () => {
  it('goes back to the pool though its holder never releases it', async () => {
    const { orm, pool, applicationName } = await startPool({
      DB_POOL_MIN: '1',
      DB_POOL_MAX: '1',
      DB_POOL_ACQUIRE_TIMEOUT_MS: '3000',
    });
    const holder = orm.em.fork();
    await holder.begin();
    const [{ pid }] = (await holder.execute('select pg_backend_pid() as pid')) as [{ pid: number }];
    await terminate([pid]);

    // The holder never commits nor rolls back; with max 1 the next query needs that very slot.
    const [{ ok }] = (await orm.em.fork().execute('select 1 as ok')) as [{ ok: number }];
    expect(ok).toBe(1);
    expect(pool.totalCount).toBe(1);
    expect(await backendPids(applicationName)).not.toContain(pid);
    await holder.rollback().catch(() => undefined);
  });
});

describe.skipIf(
  cannotHoldThroughPgBouncer(
    'warm-up against a role allowed fewer connections',
    "a role's connection limit applies to PgBouncer's own logins to the server, not to the connections the pool opens to PgBouncer",
  ),
)('warm-up against a role allowed fewer connections than DB_POOL_MIN', () => {
  const role = `pool_limited_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');

  beforeAll(async () => {
    await db.query(`create role "${role}" login password '${password}' connection limit 3`);
  });

  afterAll(async () => {
    await db.query(`drop role if exists "${role}"`);
  });

  const roleConnections = async () => {
    const [row] = await db.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where usename = $1', [
      role,
    ]);
    return row?.n;
  };

  it('starts anyway, gives back what it opened, warns about the rest, then stops promptly leaving no connection', async () => {
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const stopTimeoutMs = 10000;
    const { lifecycle, orm, pool, warnings } = await startPool(
      { DB_POOL_MIN: '5', DB_STOP_TIMEOUT_MS: String(stopTimeoutMs) },
      url.href,
    );

    expect(warnings).toEqual([
      'Pool warm-up opened 3 of 5 connections (DB_POOL_MIN); the others will be opened when needed',
    ]);
    expect({ total: pool.totalCount, idle: pool.idleCount }).toEqual({ total: 3, idle: 3 });
    expect(await roleConnections()).toBe(3);
    expect(await orm.em.fork().execute('select 1 as ok')).toEqual([{ ok: 1 }]);

    const stopping = Date.now();
    await lifecycle.stop();
    expect(Date.now() - stopping).toBeLessThan(stopTimeoutMs / 2);
    expect(warnings.filter((message) => message.includes('failed during stop'))).toEqual([]);
    await expect.poll(roleConnections).toBe(0);
  });
});

describe('TLS from DATABASE_URL', () => {
  it('asks the server for TLS when sslmode=require', async () => {
    const [{ ssl }] = (await db.query<{ ssl: string }>('show ssl')) as [{ ssl: string }];
    const url = `${db.url}?sslmode=require`;
    const container = new Container();
    container.load(
      databaseModule(loadDatabaseConfig({ entities: [Note] }, { DATABASE_URL: url, DB_CONNECT_TIMEOUT_MS: '1500' })),
    );
    const lifecycle = container.get(AppLifecycle);
    try {
      if (ssl === 'on') {
        await lifecycle.start();
        const [row] = await container
          .get(MikroORM)
          .em.fork()
          .execute<{ ssl: boolean }[]>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
        expect(row?.ssl).toBe(true);
      } else {
        // A server without TLS refuses the handshake: proof that TLS was requested, not silently dropped.
        await expect(lifecycle.start()).rejects.toThrow(/does not support SSL/);
      }
    } finally {
      await lifecycle.stop();
    }
  });
});
