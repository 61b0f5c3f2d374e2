import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConnections } from '../helpers/database-container.js';
import { startTasksApp, type TasksApp } from '../helpers/tasks-app.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { sleep, taggedUrl } from './helpers.js';

const MAX = 4;
const ACQUIRE_TIMEOUT_MS = 500;
/** What answering a refused request may add to the acquire timeout (turning the error into a 503). */
const ANSWER_SLACK_MS = 250;
/** Longer than the acquire timeout plus the slack, so a 503 sent only after the stall would be caught. */
const STALL_MS = ACQUIRE_TIMEOUT_MS * 3;

describe('pool exhaustion', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy;
  let tasks: TasksApp;
  const applicationName = uniqueApplicationName('exhaustion');

  beforeAll(async () => {
    db = await testDatabase.create('exhaustion');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    tasks = await startTasksApp({
      DATABASE_URL: taggedUrl(proxy.urlFor(db.url), applicationName),
      DB_POOL_MIN: String(MAX),
      DB_POOL_MAX: String(MAX),
      DB_POOL_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
      // Keep validation out of this test: only the waiting for a free connection is under test.
      DB_POOL_VALIDATE_AFTER_IDLE_MS: '600000',
    });
  });

  afterAll(async () => {
    proxy.resume();
    await tasks.lifecycle.stop();
    await proxy.close();
    await db.drop();
  });

  it('bounds waiters by the acquire timeout, then answers 503 database_busy with Retry-After', async () => {
    const concurrent = 24;
    let peakConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakConnections = Math.max(peakConnections, await serverConnections(db, applicationName));
        await sleep(50);
      }
    })();

    proxy.stall(); // the first MAX transactions hold every connection; the rest must wait
    const responses = Array.from({ length: concurrent }, async (_, i) => {
      const sent = performance.now();
      const response = await tasks.app.inject({
        method: 'POST',
        url: '/tasks',
        headers: { 'content-type': 'application/json' },
        payload: { title: `busy ${i}` },
      });
      return Object.assign(response, { waitedMs: Math.round(performance.now() - sent) });
    });
    await sleep(STALL_MS);
    proxy.resume();
    const settled = await Promise.all(responses);
    sampling = false;
    await sampler;

    const busy = settled.filter((r) => r.statusCode === 503);
    const created = settled.filter((r) => r.statusCode === 201);
    recordFigure({
      fault: `${concurrent} concurrent transactions, pool max ${MAX}, connections stalled`,
      promise:
        'waiters bounded by DB_POOL_ACQUIRE_TIMEOUT_MS, then 503 database_busy + Retry-After; never more than max connections',
      test: 'tests/faults/exhaustion.faults.test.ts',
      sent: concurrent,
      failed: concurrent - created.length,
      detail: `${created.length} created, ${busy.length} refused with 503 database_busy after ${Math.min(...busy.map((r) => r.waitedMs))}-${Math.max(...busy.map((r) => r.waitedMs))} ms; peak server connections ${peakConnections} (max ${MAX})`,
    });

    expect(created.length + busy.length).toBe(concurrent);
    expect(created.length).toBeGreaterThanOrEqual(MAX);
    expect(busy.length).toBeGreaterThan(0);
    for (const response of busy) {
      expect(response.json()).toEqual({ error: 'database_busy', message: expect.any(String) });
      expect(response.headers['retry-after']).toBe('1');
      // Refused once the acquire timeout is up, long before the stall ends and a connection frees up.
      expect(response.waitedMs).toBeGreaterThanOrEqual(ACQUIRE_TIMEOUT_MS);
      expect(response.waitedMs).toBeLessThan(ACQUIRE_TIMEOUT_MS + ANSWER_SLACK_MS);
    }
    expect(peakConnections).toBeLessThanOrEqual(MAX);
    const [{ n }] = (await db.query<{ n: number }>(
      "select count(*)::int as n from task where title like 'busy %'",
    )) as [{ n: number }];
    expect(n).toBe(created.length);
  });
});
