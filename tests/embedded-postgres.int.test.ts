import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDatabase } from '../src/embedded/index.js';
import { runCommand } from './helpers/run-command.js';

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function serverProcessesFor(dataDir: string): number {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('postgres') && line.includes(dataDir)).length;
}

describe('EmbeddedDatabase', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'embedded-pg-'));
    // As root, the server runs as the `postgres` OS user, which must be able to enter this folder.
    await chmod(root, 0o711);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('starts on a free port, keeps data across restarts, and leaves no process after stop', async () => {
    const dataDir = path.join(root, 'data');
    const first = new EmbeddedDatabase({ dataDir, database: 'app' });
    await first.start();
    await query(first.url, 'create table kept (v text); insert into kept values ($$survives$$)');
    await first.stop();
    expect(serverProcessesFor(dataDir)).toBe(0);

    const second = new EmbeddedDatabase({ dataDir, database: 'app' });
    await second.start();
    try {
      expect(await query(second.url, 'select v from kept')).toEqual([{ v: 'survives' }]);
      expect(await query(second.url, 'show listen_addresses')).toEqual([{ listen_addresses: '127.0.0.1' }]);
    } finally {
      await second.stop();
    }
  });

  it.runIf(process.getuid?.() === 0)('also runs for an ordinary OS user (here: nobody)', async () => {
    const dataDir = path.join(root, 'as-nobody');
    await mkdir(dataDir);
    await chmod(dataDir, 0o777);
    const script = `
      import { EmbeddedDatabase } from ${JSON.stringify(path.resolve('dist/lib/embedded/index.js'))};
      import pg from 'pg';
      const embedded = new EmbeddedDatabase({ dataDir: ${JSON.stringify(path.join(dataDir, 'data'))}, database: 'app' });
      await embedded.start();
      const client = new pg.Client({ connectionString: embedded.url });
      await client.connect();
      const { rows } = await client.query('select current_user as db_user');
      await client.end();
      await embedded.stop();
      console.log(JSON.stringify({ osUser: process.getuid(), dbUser: rows[0].db_user }));
    `;
    const result = await runCommand(
      'runuser',
      ['-u', 'nobody', '--', process.execPath, '--input-type=module', '-e', script],
      {
        env: { HOME: dataDir },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const reported = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(reported.osUser).toBe(65534);
    expect(reported.dbUser).toBe('postgres');
    expect(serverProcessesFor(dataDir)).toBe(0);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, explains when the server user cannot reach the data folder',
    async () => {
      const locked = await mkdtemp(path.join(root, 'locked-'));
      await chmod(locked, 0o700);
      const embedded = new EmbeddedDatabase({ dataDir: path.join(locked, 'data'), database: 'app' });
      await expect(embedded.start()).rejects.toThrow(/cannot enter .*locked-.*chmod o\+x/);
    },
  );
});
