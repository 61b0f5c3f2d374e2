import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTasksApp, type TasksApp } from '../helpers/tasks-app.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { seedTasks, sleep } from './helpers.js';

/** The defaults of DB_POOL_VALIDATE_AFTER_IDLE_MS and DB_POOL_VALIDATION_TIMEOUT_MS. */
const VALIDATE_AFTER_IDLE_MS = 1000;
const VALIDATION_TIMEOUT_MS = 2000;
const FIRST_REQUEST_TARGET_MS = 3000;
const FOLLOWING_REQUESTS = 20;

describe('half-open connections: every pooled connection frozen (sockets open, no bytes flow)', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy | undefined;
  let tasks: TasksApp | undefined;

  beforeAll(async () => {
    db = await testDatabase.create('half_open');
  });

  afterEach(async () => {
    await tasks?.lifecycle.stop();
    await proxy?.close();
    tasks = undefined;
    proxy = undefined;
  });

  afterAll(async () => {
    await db.drop();
  });

  async function timedGet(url: string): Promise<{ status: number; ms: number }> {
    const began = performance.now();
    const response = await (tasks as TasksApp).app.inject({ method: 'GET', url });
    return { status: response.statusCode, ms: Math.round(performance.now() - began) };
  }

  it.each([2, 15])(
    `with %i stalled connections the first request answers in under ${FIRST_REQUEST_TARGET_MS} ms, the following ones normally, none fails`,
    async (stalled) => {
      const target = new URL(db.url);
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      tasks = await startTasksApp({ DATABASE_URL: proxy.urlFor(db.url), DB_POOL_MIN: String(stalled) });
      const [id] = await seedTasks(db, 1);
      for (let i = 0; i < 10; i++) expect((await timedGet(`/tasks/${id}`)).status).toBe(200);

      expect(proxy.freezeAll()).toBe(stalled);
      // A quiet spell: every connection has sat idle long enough to be validated before use.
      await sleep(VALIDATE_AFTER_IDLE_MS + 200);
      const first = await timedGet(`/tasks/${id}`);
      const following: Array<{ status: number; ms: number }> = [];
      for (let i = 0; i < FOLLOWING_REQUESTS; i++) following.push(await timedGet(`/tasks/${id}`));

      const all = [first, ...following];
      const slowestFollowing = Math.max(...following.map((request) => request.ms));
      recordFigure({
        fault: `${stalled} pooled connections frozen (half-open: sockets open, no bytes flow)`,
        promise: `the first request answers in under ${FIRST_REQUEST_TARGET_MS} ms (one validation timeout, then every idle connection is retired without a ping each), the following ones normally; none fails`,
        test: 'tests/faults/half-open.faults.test.ts',
        sent: all.length,
        failed: all.filter((request) => request.status !== 200).length,
        detail: `first request after the freeze ${first.ms} ms; slowest of the next ${FOLLOWING_REQUESTS}: ${slowestFollowing} ms`,
      });
      expect(all.map((request) => request.status)).toEqual(all.map(() => 200));
      expect(first.ms).toBeGreaterThanOrEqual(VALIDATION_TIMEOUT_MS);
      expect(first.ms).toBeLessThan(FIRST_REQUEST_TARGET_MS);
      // Not one more validation timeout: no following request meets a frozen connection.
      expect(slowestFollowing).toBeLessThan(VALIDATION_TIMEOUT_MS / 2);
    },
  );
});
