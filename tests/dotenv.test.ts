import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** What `loadDatabaseConfig` returns in a fresh process whose working directory holds a real `.env`. */
function configIn(cwd: string, env: Record<string, string>, call: string) {
  const entry = pathToFileURL(path.resolve('dist/lib/index.js')).href;
  const script = `
    import { loadDatabaseConfig } from ${JSON.stringify(entry)};
    const { lifecycle } = ${call};
    console.log(JSON.stringify({ endpoint: lifecycle.endpoint, min: lifecycle.pool.min, max: lifecycle.pool.max }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout) as { endpoint: string; min: number; max: number };
}

describe('.env in the working directory', () => {
  let cwd: string;

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'dotenv-'));
    await writeFile(
      path.join(cwd, '.env'),
      'DATABASE_URL=postgresql://app:from-file@dotenv-host:5433/fromfile\nDB_POOL_MAX=7\nDB_POOL_MIN=1\n',
    );
  });

  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('fills the variables the environment does not set, and never overrides one it does', () => {
    const config = configIn(cwd, { DB_POOL_MIN: '3' }, 'loadDatabaseConfig()');
    expect(config).toEqual({ endpoint: 'dotenv-host:5433/fromfile', min: 3, max: 7 });
  });

  it('is not read when an explicit environment is passed', () => {
    const config = configIn(
      cwd,
      {},
      "loadDatabaseConfig({}, { DATABASE_URL: 'postgresql://u@given-host:5432/given' })",
    );
    expect(config).toEqual({ endpoint: 'given-host:5432/given', min: 5, max: 15 });
  });
});
