import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConnections } from '../helpers/database-container.js';
import { freePort } from '../helpers/ports.js';
import { sampleOf } from '../helpers/prometheus-text.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from '../helpers/test-database.js';
import { HaProxy, HEALTH_CHECK } from './haproxy.js';
import { HttpLoad, percentile, type Sent } from './http-load.js';

const INSTANCES = 3;
/**
 * Longer than HAProxy needs to see a readiness 503 (the next check within `inter`, then `fall - 1`
 * more at `fastinter`), so no new request reaches an instance once it starts closing its listener.
 */
const SHUTDOWN_DELAY_MS = 1000;
/** Per instance: 3 x 5 stays far below the shared server's max_connections. */
const POOL = { DB_POOL_MIN: '2', DB_POOL_MAX: '5' };
const SETTLE_MS = 1500;

const FIGURES_REPORT = path.resolve(process.env.SCALE_FIGURES_REPORT ?? '.ci/results/scale-figures.md');

interface Instance {
  server: string;
  port: number;
  applicationName: string;
  process: ServiceProcess;
}

interface Restart {
  server: string;
  /** SIGTERM to the process's exit. */
  stopMs: number;
  /** SIGTERM to HAProxy marking the old process DOWN. */
  outOfRotationMs: number;
  /** SIGTERM to HAProxy marking the new process UP. */
  totalMs: number;
  startedAt: number;
  endedAt: number;
}

async function waitUntilReady(instance: Instance, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void instance.process.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${instance.port}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (exited) throw new Error(`${instance.server} exited while booting:\n${instance.process.dump()}`);
    if (Date.now() > deadline)
      throw new Error(`${instance.server} not ready after ${timeoutMs} ms:\n${instance.process.dump()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a rolling deploy behind HAProxy', () => {
  let db: IsolatedDatabase;
  let haproxy: HaProxy | undefined;
  let load: HttpLoad | undefined;
  const running: Instance[] = [];
  const stopped: Instance[] = [];

  const launch = (server: string, port: number): Instance => {
    const applicationName = uniqueApplicationName(`scale-${server}`);
    const url = new URL(db.url);
    url.searchParams.set('application_name', applicationName);
    const process = ServiceProcess.launch({
      DATABASE_URL: url.href,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
      ...POOL,
    });
    return { server, port, applicationName, process };
  };

  beforeAll(async () => {
    db = await testDatabase.create('scale');
  });

  afterAll(async () => {
    await load?.stop(); // a failed step leaves it running
    await haproxy?.stop();
    await Promise.all([...running, ...stopped].map((instance) => instance.process.kill()));
    await db.drop();
  });

  it('restarts 3 instances one at a time under mixed load: 0 failed requests, each acknowledged write stored once, no connection left behind', async () => {
    const ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
    running.push(...ports.map((port, index) => launch(`app${index + 1}`, port)));
    await Promise.all(running.map((instance) => waitUntilReady(instance)));
    haproxy = await HaProxy.start(ports);
    for (const instance of running) await haproxy.waitUntil(instance.server, 'UP');

    load = new HttpLoad(haproxy.url, {
      keepAliveLoops: 4,
      newConnectionLoops: 4,
      maxRequests: 200_000,
      requestTimeoutMs: 10_000,
    });
    const loadStartedAt = Date.now();
    load.start();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    const restarts: Restart[] = [];
    for (let index = 0; index < INSTANCES; index++) {
      restarts.push(await restart(index));
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const sent = await load.stop();
    const loadMs = Date.now() - loadStartedAt;

    async function restart(index: number): Promise<Restart> {
      const old = running[index] as Instance;
      const proxy = haproxy as HaProxy;
      const startedAt = Date.now();
      old.process.signal('SIGTERM');
      const outOfRotation = proxy.waitUntil(old.server, 'DOWN').then(() => Date.now() - startedAt);
      const exitCode = await old.process.exited;
      const stopMs = Date.now() - startedAt;
      expect(exitCode, old.process.dump()).toBe(0);
      stopped.push(old);
      // A backend ends a moment after its client's socket closes.
      await expect.poll(() => serverConnections(db, old.applicationName), { timeout: 3000 }).toBe(0);

      const fresh = launch(old.server, old.port);
      running[index] = fresh;
      await waitUntilReady(fresh);
      await proxy.waitUntil(fresh.server, 'UP');
      const endedAt = Date.now();
      return {
        server: old.server,
        stopMs,
        outOfRotationMs: await outOfRotation,
        totalMs: endedAt - startedAt,
        startedAt,
        endedAt,
      };
    }

    const failed = sent.filter((request) => !request.ok);
    const duringRestarts = sent.filter((request) =>
      restarts.some((r) => request.startedAt < r.endedAt && request.endedAt > r.startedAt),
    );
    const latencies = (requests: Sent[]) => requests.map((request) => request.endedAt - request.startedAt);
    const acknowledged = sent.filter((request) => request.kind === 'create' && request.ok).map((r) => r.title);
    const stored = await db.query<{ title: string; n: number }>(
      "select title, count(*)::int as n from task where title like 'scale %' group by title",
    );
    const storedCount = new Map(stored.map((row) => [row.title, row.n]));

    const figures = {
      requests: sent.length,
      failed: failed.length,
      writesAcknowledged: acknowledged.length,
      duringRestarts: duringRestarts.length,
      p50Ms: percentile(latencies(sent), 50),
      p99Ms: percentile(latencies(sent), 99),
      p99DuringRestartsMs: percentile(latencies(duringRestarts), 99),
      maxDuringRestartsMs: Math.max(...latencies(duringRestarts)),
      loadMs,
      restarts,
    };
    report(figures);

    expect(failed.slice(0, 10), `${failed.length} failed requests`).toEqual([]);
    expect(acknowledged.filter((title) => storedCount.get(title as string) !== 1)).toEqual([]);
    expect(stored.filter((row) => row.n !== 1)).toEqual([]);
    // The load really ran through every restart, over both kinds of connection.
    for (const r of restarts) {
      const overlapping = duringRestarts.filter((q) => q.startedAt < r.endedAt && q.endedAt > r.startedAt);
      expect(overlapping.filter((q) => q.connection === 'keep-alive').length).toBeGreaterThan(20);
      expect(overlapping.filter((q) => q.connection === 'new').length).toBeGreaterThan(20);
    }
    for (const instance of stopped) expect(await serverConnections(db, instance.applicationName)).toBe(0);

    // Each instance serves its own pool figures, as a scraper that bypasses the balancer reads them.
    for (const instance of running) {
      const text = await fetch(`http://127.0.0.1:${instance.port}/metrics`).then((response) => response.text());
      const connections = sampleOf(text, 'db_pool_connections', { database: 'default' });
      const checkouts = sampleOf(text, 'db_pool_acquire_wait_seconds_count', { database: 'default' });
      console.log(`${instance.server} /metrics: db_pool_connections ${connections}, checkouts ${checkouts}`);
      expect(connections).toBeGreaterThanOrEqual(Number(POOL.DB_POOL_MIN));
      expect(connections).toBeLessThanOrEqual(Number(POOL.DB_POOL_MAX));
      expect(checkouts).toBeGreaterThan(0);
    }
  }, 180_000);
});

function report(figures: {
  requests: number;
  failed: number;
  writesAcknowledged: number;
  duringRestarts: number;
  p50Ms: number;
  p99Ms: number;
  p99DuringRestartsMs: number;
  maxDuringRestartsMs: number;
  loadMs: number;
  restarts: Restart[];
}): void {
  const { interMs, fastInterMs, fall, rise } = HEALTH_CHECK;
  const lines = [
    `Measured by \`npm run test:scale\` on ${new Date().toISOString().slice(0, 10)}: ${INSTANCES} instances of \`node dist/src/app/main.js\` (DB_POOL_MIN=${POOL.DB_POOL_MIN}, DB_POOL_MAX=${POOL.DB_POOL_MAX}, SHUTDOWN_DELAY_MS=${SHUTDOWN_DELAY_MS}) behind HAProxy (check /health/ready inter ${interMs} ms, fastinter ${fastInterMs} ms, fall ${fall}, rise ${rise}), ${os.cpus().length} cores, Node ${process.versions.node}.`,
    '',
    `Load: 4 keep-alive loops and 4 loops opening a new connection per request, 2 creates : 2 reads : 1 list, for ${(figures.loadMs / 1000).toFixed(1)} s.`,
    '',
    '| requests served | failed | writes acknowledged (each stored once) | requests during restarts | p50 | p99 | p99 during restarts | max during restarts |',
    '|---|---|---|---|---|---|---|---|',
    `| ${figures.requests} | ${figures.failed} | ${figures.writesAcknowledged} | ${figures.duringRestarts} | ${figures.p50Ms} ms | ${figures.p99Ms} ms | ${figures.p99DuringRestartsMs} ms | ${figures.maxDuringRestartsMs} ms |`,
    '',
    '| instance | SIGTERM to out of rotation (HAProxy DOWN) | SIGTERM to exit | SIGTERM to new instance in rotation (HAProxy UP) |',
    '|---|---|---|---|',
    ...figures.restarts.map((r) => `| ${r.server} | ${r.outOfRotationMs} ms | ${r.stopMs} ms | ${r.totalMs} ms |`),
  ].join('\n');
  console.log(lines);
  mkdirSync(path.dirname(FIGURES_REPORT), { recursive: true });
  writeFileSync(FIGURES_REPORT, `${lines}\n`);
}
