import { Controller, Post } from '@inversifyjs/http-core';
import { Transactional } from '@mikro-orm/decorators/legacy';
import { inject } from 'inversify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskSchema } from '../src/app/task.entity.js';
import { repositoryOf, Session, withSession } from '../src/index.js';
import { withRollback } from '../src/testing/index.js';
import { startTasksApp, type TasksApp } from './helpers/tasks-app.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const json = { 'content-type': 'application/json' };

/** Routes that write and then hit a failing statement, with and without a transaction of their own. */
@Controller('/faulty')
class FaultyController {
  constructor(@inject(Session) private readonly em: Session) {}

  @Post('/write-then-fail')
  async writeThenFail(): Promise<never> {
    this.em.create(TaskSchema, { title: 'written before the failure' });
    await this.em.flush();
    await this.em.execute('select 1 / 0');
    throw new Error('unreachable');
  }

  @Post('/transactional')
  @Transactional()
  async transactional(): Promise<{ id: number }> {
    const task = this.em.create(TaskSchema, { title: 'from @Transactional' });
    await this.em.flush();
    return { id: task.id };
  }
}

describe('withRollback', () => {
  let db: IsolatedDatabase;
  let tasks: TasksApp;

  /** Warnings and errors the service logged (a double reply, a leaked transaction, a failed release). */
  const complaints = () => tasks.logs.filter((line) => Number(line.level) >= 40).map((line) => line.msg);
  const post = (title: string) =>
    tasks.app.inject({ method: 'POST', url: '/tasks', headers: json, payload: JSON.stringify({ title }) });
  /** What another connection sees: only committed rows. */
  const committedTitles = async () =>
    (await db.query<{ title: string }>('select title from task order by id')).map((row) => row.title);

  beforeAll(async () => {
    db = await testDatabase.create('with_rollback');
    tasks = await startTasksApp(db.env(), (container) => container.bind(FaultyController).toSelf());
  });

  beforeEach(() => {
    tasks.logs.length = 0;
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await db.drop();
  });

  it('runs fn in one unit of work whose writes it sees, and leaves no row behind', async () => {
    const seenInside = await withRollback(tasks.container, async (session) => {
      session.create(TaskSchema, { title: 'staged by the test' });
      await session.flush();
      expect(tasks.container.get(Session)).toBe(session);
      expect(await committedTitles()).toEqual([]);
      return (await tasks.container.get(repositoryOf(TaskSchema)).findAll()).map((task) => task.title);
    });
    expect(seenInside).toEqual(['staged by the test']);
    expect(await committedTitles()).toEqual([]);
  });

  it('lets HTTP requests sent from inside see and join its transaction, and rolls their writes back', async () => {
    await withRollback(tasks.container, async (session) => {
      session.create(TaskSchema, { title: 'by the test' });
      await session.flush();
      const created = await post('by a request');
      expect(created.statusCode).toBe(201);
      const { id } = created.json<{ id: number }>();
      expect((await session.findOneOrFail(TaskSchema, id)).title).toBe('by a request');
      const listed = (await tasks.app.inject({ method: 'GET', url: '/tasks' })).json<{ items: { title: string }[] }>();
      expect(listed.items.map((task) => task.title)).toEqual(['by the test', 'by a request']);
      expect(await committedTitles()).toEqual([]);
    });
    expect(await committedTitles()).toEqual([]);
    expect(complaints()).toEqual([]);
  });

  it("keeps the test's transaction usable after a request failed on a statement, undoing only that request", async () => {
    await withRollback(tasks.container, async (session) => {
      expect((await post('before')).statusCode).toBe(201);
      const failed = await tasks.app.inject({ method: 'POST', url: '/faulty/write-then-fail' });
      expect(failed.statusCode).toBe(500);
      expect((await post('after')).statusCode).toBe(201);
      const titles = (await session.findAll(TaskSchema, { orderBy: { id: 'asc' } })).map((task) => task.title);
      expect(titles).toEqual(['before', 'after']);
    });
    expect(await committedTitles()).toEqual([]);
    expect(complaints()).toEqual(['internal_error: request failed']);
  });

  it('takes in concurrent requests and @Transactional() handlers', async () => {
    await withRollback(tasks.container, async (session) => {
      const responses = await Promise.all([
        post('one'),
        post('two'),
        tasks.app.inject({ method: 'POST', url: '/faulty/transactional' }),
      ]);
      expect(responses.map((response) => response.statusCode)).toEqual([201, 201, 200]);
      expect(await session.count(TaskSchema)).toBe(3);
    });
    expect(await committedTitles()).toEqual([]);
  });

  it('takes in withSession jobs run from inside', async () => {
    await withRollback(tasks.container, async (session) => {
      await withSession(tasks.container, async (job) => {
        expect(job).not.toBe(session);
        job.create(TaskSchema, { title: 'by a job' });
        await job.flush();
      });
      expect(await session.count(TaskSchema, { title: 'by a job' })).toBe(1);
    });
    expect(await committedTitles()).toEqual([]);
  });

  it('rolls back even when fn throws, and passes the error on', async () => {
    await expect(
      withRollback(tasks.container, async () => {
        await post('doomed');
        throw new Error('test failed');
      }),
    ).rejects.toThrow('test failed');
    expect(await committedTitles()).toEqual([]);
  });

  it('leaves no connection idle in transaction', async () => {
    await withRollback(tasks.container, () => post('x'));
    const idle = await db.query(
      "select pid from pg_stat_activity where datname = $1 and state like 'idle in transaction%'",
      [db.name],
    );
    expect(idle).toEqual([]);
  });
});
