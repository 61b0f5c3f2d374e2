import { Controller, Get } from '@inversifyjs/http-core';
import { inject } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskSchema } from '../../src/app/task.entity.js';
import { Session } from '../../src/index.js';
import { startTasksApp, type TasksApp } from '../helpers/tasks-app.js';
import { type IsolatedDatabase, testDatabase } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { sleep } from './helpers.js';

const LEAK_WARN_MS = 300;

/** A handler that forgets its transaction: begins, writes, waits, returns without commit. */
@Controller('/leaky')
class LeakyController {
  constructor(@inject(Session) private readonly session: Session) {}

  @Get('/forgotten-transaction')
  async forgottenTransaction(): Promise<{ ok: true }> {
    await this.session.begin();
    this.session.create(TaskSchema, { title: 'never committed', done: false });
    await this.session.flush();
    await sleep(LEAK_WARN_MS * 3);
    return { ok: true };
  }
}

describe('leak detection', () => {
  let db: IsolatedDatabase;
  let tasks: TasksApp;

  beforeAll(async () => {
    db = await testDatabase.create('leak');
    tasks = await startTasksApp({ DATABASE_URL: db.url, DB_LEAK_WARN_MS: String(LEAK_WARN_MS) }, (container) => {
      container.bind(LeakyController).toSelf();
    });
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await db.drop();
  });

  it('warns once, with the stack where the transaction began, then rolls back and releases it', async () => {
    const response = await tasks.app.inject({ method: 'GET', url: '/leaky/forgotten-transaction' });
    expect(response.statusCode).toBe(200);

    const leaks = tasks.logs.filter((line) => String(line.msg).includes('out of the pool for more than 300 ms'));
    const rolledBack = tasks.logs.filter((line) => String(line.msg).includes('transaction was still open'));
    recordFigure({
      fault: 'a handler leaves a transaction open for 900 ms (DB_LEAK_WARN_MS=300)',
      promise:
        'one warning with the stack where the transaction began; rolled back and released at the end of the request',
      test: 'tests/faults/leak.faults.test.ts',
      sent: 1,
      failed: 0,
      detail: `${leaks.length} leak warning, ${rolledBack.length} rollback at request end`,
    });
    expect(leaks).toHaveLength(1);
    expect(String(leaks[0]?.stack)).toContain('LeakyController.forgottenTransaction');
    expect(Number(leaks[0]?.heldForMs)).toBeGreaterThanOrEqual(LEAK_WARN_MS);
    expect(rolledBack).toHaveLength(1);
    await expect
      .poll(() =>
        db.query("select pid from pg_stat_activity where datname = $1 and state like 'idle in transaction%'", [
          db.name,
        ]),
      )
      .toEqual([]);
    expect(await db.query("select id from task where title = 'never committed'")).toEqual([]);
    expect((await tasks.app.inject({ method: 'GET', url: '/health/ready' })).json().pool.total).toBe(5);
  });
});
