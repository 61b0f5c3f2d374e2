import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('shows examples/usage.ts exactly as it is compiled and tested', () => {
    const shown = between('<!-- example:examples/usage.ts -->', '<!-- /example -->');
    expect(shown.replace(/^\s*```ts\n/, '').replace(/```\s*$/, '')).toBe(readFileSync('examples/usage.ts', 'utf8'));
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
