import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../src/app/server.js';
import { startTasksApp, type TasksApp } from './helpers/tasks-app.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

const json = { 'content-type': 'application/json' };
/** `{"title":"` + bytes + `"}`: lets a test put bytes in the body that no JS string can express. */
const titleBytes = (...bytes: number[]) =>
  Buffer.concat([Buffer.from('{"title":"'), Buffer.from(bytes), Buffer.from('"}')]);
const EMOJI = '\u{1F600}';

/**
 * Input that PostgreSQL text cannot hold, or that upsets the wire protocol or the encoding on the
 * way: each is refused with a 4xx naming what was wrong, before anything reaches the database.
 */
describe('Tasks API on hostile input', () => {
  let db: IsolatedDatabase;
  let tasks: TasksApp;
  const applicationName = uniqueApplicationName('hostile');

  const send = (method: 'POST' | 'PATCH' | 'GET', url: string, payload?: string | Buffer | object) =>
    tasks.app.inject({
      method,
      url,
      headers: payload === undefined ? {} : json,
      payload: payload as string,
    });
  const serverBackends = async () =>
    (
      await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1 order by pid', [
        applicationName,
      ])
    ).map((row) => row.pid);

  beforeAll(async () => {
    db = await testDatabase.create('hostile_input');
    const url = new URL(db.url);
    url.searchParams.set('application_name', applicationName);
    tasks = await startTasksApp({ DATABASE_URL: url.href });
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await db.drop();
  });

  beforeEach(async () => {
    await db.query('truncate task restart identity');
    await db.query("insert into task (title, done, created_at, updated_at) values ('existing', false, now(), now())");
    tasks.logs.length = 0;
  });

  const refused: Array<[string, () => ReturnType<typeof send>, string, RegExp]> = [
    [
      'a NUL character in a new title',
      () => send('POST', '/tasks', { title: 'nul\u0000byte' }),
      'validation_failed',
      /^title must not contain the NUL character \\u0000 \(found at character 4\)/,
    ],
    [
      'a NUL character in a changed title',
      () => send('PATCH', '/tasks/1', { title: 'nul\u0000byte', done: true }),
      'validation_failed',
      /^title must not contain the NUL character/,
    ],
    [
      'a lone high surrogate (JSON escape \\ud800)',
      () => send('POST', '/tasks', '{"title":"a\\ud800b"}'),
      'validation_failed',
      /^title must be valid Unicode text: unpaired surrogate \\ud800 at character 2/,
    ],
    [
      'a lone low surrogate (JSON escape \\udc00)',
      () => send('PATCH', '/tasks/1', '{"title":"\\udc00"}'),
      'validation_failed',
      /^title must be valid Unicode text: unpaired surrogate \\udc00 at character 1/,
    ],
    [
      'bytes that are not UTF-8 (0xff 0xfe)',
      () => send('POST', '/tasks', titleBytes(0x61, 0xff, 0xfe)),
      'invalid_json',
      /^request body must be UTF-8 encoded JSON/,
    ],
    [
      'a surrogate encoded in UTF-8 bytes (0xed 0xa0 0x80)',
      () => send('POST', '/tasks', titleBytes(0xed, 0xa0, 0x80)),
      'invalid_json',
      /^request body must be UTF-8 encoded JSON/,
    ],
    [
      'an overlong UTF-8 encoding of NUL (0xc0 0x80)',
      () => send('POST', '/tasks', titleBytes(0xc0, 0x80)),
      'invalid_json',
      /^request body must be UTF-8 encoded JSON/,
    ],
    [
      'a title of 16000 characters, inside the body limit',
      () => send('POST', '/tasks', { title: 'x'.repeat(16_000) }),
      'validation_failed',
      /^title must be at most 200 characters \(got 16000\)/,
    ],
    [
      'a title of 201 emoji',
      () => send('POST', '/tasks', { title: EMOJI.repeat(201) }),
      'validation_failed',
      /^title must be at most 200 characters \(got 201\)/,
    ],
    [
      'a NUL character in a field name',
      () => send('POST', '/tasks', { title: 'x', 'ti\u0000tle': 'y' }),
      'validation_failed',
      /^unknown field "ti.tle" \(allowed: title, done\)/,
    ],
    ['a NUL character as the id', () => send('GET', '/tasks/%00'), 'invalid_id', /^id must be a whole number/],
    [
      'a NUL character as the limit',
      () => send('GET', '/tasks?limit=%00'),
      'invalid_query',
      /^limit must be a whole number/,
    ],
  ];

  it.each(refused)(
    'refuses %s with a 400 naming it, and the database sees nothing',
    async (_name, request, code, message) => {
      const backends = await serverBackends();
      const response = await request();

      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: code, message: expect.stringMatching(message) });
      expect(await db.query('select id, title, done from task')).toEqual([{ id: 1, title: 'existing', done: false }]);
      expect(tasks.logs.filter((line) => (line.level as number) >= 40)).toEqual([]);
      // The same server connections as before: none was dropped, so no statement upset the protocol.
      expect(await serverBackends()).toEqual(backends);
    },
  );

  it('stores 200 emoji whole: the limit counts characters, as varchar(200) does, not UTF-16 units', async () => {
    const title = EMOJI.repeat(200);
    const response = await send('POST', '/tasks', { title });
    expect(response.statusCode).toBe(201);
    expect(await db.query('select title, char_length(title) as length from task where id = 2')).toEqual([
      { title, length: 200 },
    ]);
  });

  it('takes a body just under the limit and answers with what is wrong in it', async () => {
    const padding = ' '.repeat(BODY_LIMIT_BYTES - 64);
    const response = await send('POST', '/tasks', `{"title":"x",${padding}"done":"nul\\u0000"}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'validation_failed', message: 'done must be true or false (got string)' });
  });
});
