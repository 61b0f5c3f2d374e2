import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../helpers/service-process.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { seedTasks, sleep, taggedUrl } from './helpers.js';
import { isSuccess, MixedLoad } from './load.js';

const RECOVERY_TARGET_MS = 2000;

/** The machine's PostgreSQL cluster, when TEST_DATABASE_URL points at it and we may restart it. */
function localCluster(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  if (!url || !existsSync('/etc/postgresql') || process.getuid?.() !== 0) return undefined;
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost'].includes(hostname) || (port && port !== '5432')) return undefined;
  return readdirSync('/etc/postgresql')[0];
}

const cluster = localCluster();

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe.runIf(cluster)('PostgreSQL restarted under load', () => {
  let db: IsolatedDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await testDatabase.create('restart');
  });

  afterAll(async () => {
    await service?.kill();
    await db.drop();
  });

  it(`recovers within ${RECOVERY_TARGET_MS} ms of the server being back, without restarting itself`, async () => {
    const applicationName = uniqueApplicationName('restart');
    service = await ServiceProcess.start({ DATABASE_URL: taggedUrl(db.url, applicationName) });
    const readIds = await seedTasks(db, 50);
    const load = new MixedLoad(service.url, { workers: 8, readIds, writeShare: 0.3 });
    load.start();
    await sleep(2000);

    const ctl = (action: string) =>
      execFileSync('pg_ctlcluster', [
        '--skip-systemctl-redirect',
        String(cluster),
        'main',
        action,
        ...(action === 'stop' ? ['-m', 'fast'] : []),
      ]);
    ctl('stop');
    await sleep(1500);
    ctl('start');
    while (!(await answers(db.url))) await sleep(20);
    const backAt = Date.now();
    await sleep(5000);
    const outcomes = await load.stop();

    // Recovered at the first moment after which every request the service received succeeded.
    const lastFailure = Math.max(backAt, ...outcomes.filter((o) => !isSuccess(o)).map((o) => o.endedAt));
    const recoveryMs = lastFailure - backAt;
    const failed = outcomes.filter((o) => !isSuccess(o));
    recordFigure({
      fault: `PostgreSQL ${cluster} stopped (fast) for 1.5 s and started again, under mixed load`,
      promise: `the service recovers within ${RECOVERY_TARGET_MS} ms of the server being back, without a restart`,
      test: 'tests/faults/restart.faults.test.ts',
      sent: outcomes.length,
      failed: failed.length,
      recoveryMs,
      detail: `while it was down: ${failed.length} requests answered ${[...new Set(failed.map((o) => o.status))].join('/') || '-'}`,
    });

    expect(await Promise.race([service.exited, sleep(10).then(() => 'still running')])).toBe('still running');
    expect(recoveryMs).toBeLessThan(RECOVERY_TARGET_MS);
    expect(failed.every((o) => o.status === 503)).toBe(true);
    expect(outcomes.filter((o) => o.startedAt > backAt + RECOVERY_TARGET_MS).every(isSuccess)).toBe(true);
  });
});
