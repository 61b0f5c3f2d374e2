import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './helpers/run-command.js';
import { ServiceProcess } from './helpers/service-process.js';

/**
 * The library never starts a database by itself: only the example app's development start
 * (`npm start`, dist/src/app/dev.js) asks for the embedded one. Both run from an empty folder, so
 * no `.env` of the repository can supply a DATABASE_URL.
 */
describe('the embedded PostgreSQL is opt-in', () => {
  let cwd: string;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'embedded-opt-in-'));
    // As root, the embedded server runs as the `postgres` OS user, which must be able to enter it.
    await chmod(cwd, 0o711);
  });

  afterAll(async () => {
    await service?.kill();
    await rm(cwd, { recursive: true, force: true });
  });

  it.each([
    ['unset', undefined],
    ['development', 'development'],
  ])('the deployed service (main.js) without DATABASE_URL exits 1 naming it, NODE_ENV %s', async (_label, nodeEnv) => {
    const run = await runCommand(process.execPath, [path.resolve('dist/src/app/main.js')], {
      cwd,
      env: { DATABASE_URL: undefined, NODE_ENV: nodeEnv, PORT: '0' },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('DATABASE_URL is not set');
    expect(run.stdout).not.toContain('Embedded PostgreSQL started');
  });

  it('npm start (dev.js) without DATABASE_URL serves on an embedded server, and says so first', async () => {
    service = await ServiceProcess.start({ EMBEDDED_PG_DATA_DIR: path.join(cwd, 'pg') }, { entry: 'dev.js', cwd });
    expect(String(service.lines[0]?.msg)).toContain('DATABASE_URL is not set, so an embedded PostgreSQL runs in');
    expect(service.lines[0]?.dataDir).toBe(path.join(cwd, 'pg'));
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(200);
    service.signal('SIGTERM');
    expect(await service.exited).toBe(0);
  }, 60_000);
});
