import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../src/app/server.js';
import { startTasksApp, type TasksApp } from './helpers/tasks-app.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const json = { 'content-type': 'application/json' };
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Until a backend of the database waits for a row lock another transaction holds. */
async function untilWaitingOnALock(db: IsolatedDatabase): Promise<void> {
  const deadline = Date.now() + 10_000;
  const waiting = "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'";
  while ((await db.query(waiting)).length === 0) {
    if (Date.now() > deadline) throw new Error('no statement ever waited for the row lock');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Tasks API', () => {
  let db: IsolatedDatabase;
  let tasks: TasksApp;

  const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    tasks.app.inject({ method, url, headers: payload === undefined ? {} : json, payload: payload as string });
  const create = async (title: string) => (await inject('POST', '/tasks', { title })).json<{ id: number }>();

  beforeAll(async () => {
    db = await testDatabase.create('tasks_api');
    tasks = await startTasksApp(db.env());
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await db.drop();
  });

  beforeEach(async () => {
    await db.query('truncate task restart identity');
  });

  it('creates a task: 201, Location, and the stored row', async () => {
    const response = await inject('POST', '/tasks', { title: '  Buy milk  ' });
    expect(response.statusCode).toBe(201);
    expect(response.headers.location).toBe('/tasks/1');
    const body = response.json();
    expect(body).toEqual({
      id: 1,
      title: 'Buy milk',
      done: false,
      createdAt: expect.stringMatching(ISO_DATE),
      updatedAt: body.createdAt,
    });
    expect(await db.query('select id, title, done from task')).toEqual([{ id: 1, title: 'Buy milk', done: false }]);
  });

  it('lists tasks in id order with limit, offset and the total count', async () => {
    for (const title of ['a', 'b', 'c']) await create(title);
    const page = (await inject('GET', '/tasks?limit=2&offset=1')).json();
    expect(page).toMatchObject({ total: 3, limit: 2, offset: 1 });
    expect(page.items.map((t: { title: string }) => t.title)).toEqual(['b', 'c']);
  });

  it('caps limit at 100', async () => {
    const page = (await inject('GET', '/tasks?limit=5000')).json();
    expect(page).toMatchObject({ limit: 100, offset: 0, total: 0, items: [] });
  });

  it('reads, updates and deletes one task', async () => {
    const { id } = await create('write tests');
    expect((await inject('GET', `/tasks/${id}`)).json()).toMatchObject({ id, title: 'write tests', done: false });

    const patched = await inject('PATCH', `/tasks/${id}`, { done: true });
    expect(patched.statusCode).toBe(200);
    const body = patched.json();
    expect(body).toMatchObject({ id, title: 'write tests', done: true });
    expect(Date.parse(body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(body.createdAt));
    expect(await db.query('select done from task where id = $1', [id])).toEqual([{ done: true }]);

    const deleted = await inject('DELETE', `/tasks/${id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(await db.query('select * from task')).toEqual([]);
  });

  it.each([
    ['GET', '/tasks/999'],
    ['PATCH', '/tasks/999'],
    ['DELETE', '/tasks/999'],
  ] as const)('answers 404 for an unknown id (%s %s)', async (method, url) => {
    const response = await inject(method, url, method === 'PATCH' ? { done: true } : undefined);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', message: 'task 999 does not exist' });
  });

  it('answers 404 to a PATCH whose task a concurrent DELETE removes, never 200 for a row that is gone', async () => {
    const { id } = await create('contested');
    const deleter = new pg.Client({ connectionString: db.url });
    await deleter.connect();
    try {
      await deleter.query('begin');
      await deleter.query('delete from task where id = $1', [id]);
      const patch = inject('PATCH', `/tasks/${id}`, { done: true });
      await untilWaitingOnALock(db);
      await deleter.query('commit');
      const response = await patch;
      expect(response.json()).toEqual({ error: 'not_found', message: `task ${id} does not exist` });
      expect(response.statusCode).toBe(404);
    } finally {
      await deleter.end();
    }
  });

  const tooLongTitle = 'x'.repeat(201);
  const badRequests: Array<[string, () => Promise<{ statusCode: number; body: string }>, number, string, RegExp]> = [
    [
      'malformed JSON',
      () => tasks.app.inject({ method: 'POST', url: '/tasks', headers: json, payload: '{"title":' }),
      400,
      'invalid_json',
      /not valid JSON/,
    ],
    [
      'an empty JSON body',
      () => tasks.app.inject({ method: 'POST', url: '/tasks', headers: json, payload: '' }),
      400,
      'invalid_json',
      /empty/i,
    ],
    [
      'a JSON array',
      () => inject('POST', '/tasks', [{ title: 'x' }]),
      400,
      'validation_failed',
      /body must be a JSON object \(got array\)/,
    ],
    ['a missing title', () => inject('POST', '/tasks', { done: true }), 400, 'validation_failed', /title is required/],
    [
      'a title of the wrong type',
      () => inject('POST', '/tasks', { title: 42 }),
      400,
      'validation_failed',
      /title must be a string \(got number\)/,
    ],
    [
      'done of the wrong type',
      () => inject('POST', '/tasks', { title: 'x', done: 'yes' }),
      400,
      'validation_failed',
      /done must be true or false \(got string\)/,
    ],
    [
      'an unknown field',
      () => inject('POST', '/tasks', { title: 'x', owner: 'me' }),
      400,
      'validation_failed',
      /unknown field "owner"/,
    ],
    [
      'an empty title',
      () => inject('POST', '/tasks', { title: '   ' }),
      400,
      'validation_failed',
      /title must not be empty/,
    ],
    [
      'an over-long title',
      () => inject('POST', '/tasks', { title: tooLongTitle }),
      400,
      'validation_failed',
      /title must be at most 200 characters \(got 201\)/,
    ],
    ['an empty patch', () => inject('PATCH', '/tasks/1', {}), 400, 'validation_failed', /at least one of title, done/],
    [
      'a non-numeric id',
      () => inject('GET', '/tasks/abc'),
      400,
      'invalid_id',
      /id must be a whole number from 1 to 2147483647 \(got "abc"\)/,
    ],
    ['a negative id', () => inject('DELETE', '/tasks/-3'), 400, 'invalid_id', /got "-3"/],
    ['an id beyond integer range', () => inject('GET', '/tasks/99999999999'), 400, 'invalid_id', /got "99999999999"/],
    [
      'a non-numeric limit',
      () => inject('GET', '/tasks?limit=ten'),
      400,
      'invalid_query',
      /limit must be a whole number >= 0 \(got "ten"\)/,
    ],
    [
      'a negative offset',
      () => inject('GET', '/tasks?offset=-1'),
      400,
      'invalid_query',
      /offset must be a whole number >= 0/,
    ],
    [
      'an oversized body',
      () => inject('POST', '/tasks', { title: 'x'.repeat(BODY_LIMIT_BYTES) }),
      413,
      'payload_too_large',
      /body/i,
    ],
    [
      'a form body',
      () =>
        tasks.app.inject({
          method: 'POST',
          url: '/tasks',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'title=x',
        }),
      415,
      'unsupported_media_type',
      /content-type/i,
    ],
    ['an unknown route', () => inject('GET', '/nope'), 404, 'not_found', /no route for GET \/nope/],
  ];

  it.each(badRequests)(
    'refuses %s with a clear 4xx JSON error and writes nothing',
    async (_name, send, status, code, message) => {
      const { id } = await create('existing');
      const response = await send();
      expect(response.statusCode).toBe(status);
      const body = JSON.parse(response.body);
      expect(body).toEqual({ error: code, message: expect.stringMatching(message) });
      expect(response.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
      expect(await db.query('select id, title, done from task')).toEqual([{ id, title: 'existing', done: false }]);
    },
  );
});
