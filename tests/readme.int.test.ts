import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as embeddedMain } from '../examples/embedded.js';
import { serve as serveExpress } from '../examples/express.js';
import { serve as serveFastify } from '../examples/fastify.js';
import { main } from '../examples/usage.js';
import { runCommand } from './helpers/run-command.js';
import { ServiceProcess } from './helpers/service-process.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const readme = readFileSync('README.md', 'utf8');
const ISO_TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

function between(start: string, end: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end, from);
  expect(from, `README marker ${start}`).toBeGreaterThanOrEqual(0);
  return readme.slice(from + start.length, to);
}

/** `$ command` lines, each with the output lines that follow it. */
function curlExamples(): Array<{ command: string; expected: string }> {
  const block = between('<!-- curl-examples:start -->', '<!-- curl-examples:end -->').replace(/```\w*/g, '');
  const examples: Array<{ command: string; expected: string[] }> = [];
  for (const line of block.split('\n').filter(Boolean)) {
    if (line.startsWith('$ ')) examples.push({ command: line.slice(2), expected: [] });
    else examples.at(-1)?.expected.push(line);
  }
  return examples.map(({ command, expected }) => ({ command, expected: expected.join('\n') }));
}

describe('README', () => {
  it('shows every file of examples/ exactly as it is compiled and tested', () => {
    const shown = [
      ...readme.matchAll(/<!-- example:(examples\/[\w.-]+) -->\s*```ts\n([\s\S]*?)```\s*<!-- \/example -->/g),
    ];
    expect(shown.map(([, file]) => file).sort()).toEqual(
      readdirSync('examples')
        .filter((file) => file.endsWith('.ts'))
        .map((file) => `examples/${file}`)
        .sort(),
    );
    for (const [, file, code] of shown) expect(code, file).toBe(readFileSync(file as string, 'utf8'));
  });

  describe('against a real PostgreSQL', () => {
    let db: IsolatedDatabase;
    let service: ServiceProcess | undefined;

    beforeAll(async () => {
      db = await testDatabase.create('readme');
    });

    afterAll(async () => {
      await service?.kill();
      await db.drop();
    });

    it('runs the usage example', async () => {
      expect(await main(db.env())).toEqual({ id: 1, total: 1 });
    });

    it.each([
      ['Fastify', serveFastify],
      ['Express', serveExpress],
    ])('runs the %s example: a note posted over HTTP is saved', async (_framework, serve) => {
      const saved = async () =>
        (await db.query<{ n: number }>("select count(*)::int as n from note where body = 'over http'"))[0]?.n;
      const before = await saved();
      const { url, stop } = await serve(db.env());
      try {
        const response = await fetch(`${url}/notes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ body: 'over http' }),
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ body: 'over http' });
      } finally {
        await stop();
      }
      expect(await saved()).toBe((before ?? 0) + 1);
    });

    it('runs the embedded example: a server of its own, data kept across runs', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'readme-embedded-'));
      await chmod(dir, 0o711); // as root, the server runs as the postgres OS user
      try {
        expect(await embeddedMain(path.join(dir, 'data'))).toBe(1);
        expect(await embeddedMain(path.join(dir, 'data'))).toBe(2);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it('gives the documented answer to every curl command of the quick start', async () => {
      await db.query('drop table if exists task');
      service = await ServiceProcess.start({ DATABASE_URL: db.url });
      const examples = curlExamples();
      expect(examples.length).toBeGreaterThanOrEqual(8);
      for (const { command, expected } of examples) {
        const result = await runCommand('sh', [
          '-c',
          command.replaceAll('localhost:3000', service.url.replace('http://', '')),
        ]);
        expect(result.code, command).toBe(0);
        expect(result.stdout.trim().replace(ISO_TIMESTAMP, '<time>'), command).toBe(
          expected.replace(ISO_TIMESTAMP, '<time>'),
        );
      }
    });
  });
});
