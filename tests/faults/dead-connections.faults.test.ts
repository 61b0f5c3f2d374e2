import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serverConnections } from '../helpers/database-container.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { seedTasks, sleep, taggedUrl, terminateBackends } from './helpers.js';
import { isSuccess, MixedLoad, type Outcome } from './load.js';

describe('dead connections', () => {
  let db: IsolatedDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await testDatabase.create('dead_connections');
  });

  afterEach(async () => {
    await service?.kill();
    service = undefined;
  });

  afterAll(async () => {
    await db.drop();
  });

  it('replaces connections killed while the service was idle: the next 100 requests all succeed', async () => {
    const applicationName = uniqueApplicationName('idle-kill');
    service = await ServiceProcess.start({ DATABASE_URL: taggedUrl(db.url, applicationName) });
    const [id] = await seedTasks(db, 1);
    expect(await serverConnections(db, applicationName)).toBe(5);

    expect(await terminateBackends(db, applicationName)).toBe(5);
    let failed = 0;
    for (let i = 0; i < 100; i++) {
      const response =
        i % 2 === 0
          ? await fetch(`${service.url}/tasks/${id}`)
          : await fetch(`${service.url}/tasks`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ title: `after kill ${i}` }),
            });
      if (!response.ok) failed++;
    }
    recordFigure({
      fault: 'all backends killed while idle',
      promise: 'dead connections are replaced unnoticed',
      test: 'tests/faults/dead-connections.faults.test.ts',
      sent: 100,
      failed,
    });
    expect(failed).toBe(0);
  });

  it('survives every backend being killed every 2 s under mixed load', async () => {
    const applicationName = uniqueApplicationName('load-kill');
    service = await ServiceProcess.start({ DATABASE_URL: taggedUrl(db.url, applicationName) });
    const readIds = await seedTasks(db, 50);
    const load = new MixedLoad(service.url, { workers: 16, readIds, writeShare: 0.3 });
    load.start();

    // From just before the kill is sent until every killed backend is gone.
    const kills: Array<{ from: number; to: number }> = [];
    for (let kill = 0; kill < 10; kill++) {
      await sleep(2000);
      const from = Date.now();
      await terminateBackends(db, applicationName);
      kills.push({ from, to: Date.now() });
    }
    await sleep(500);
    const outcomes = await load.stop();

    const reads = outcomes.filter((o) => o.kind === 'read');
    const writes = outcomes.filter((o) => o.kind === 'write');
    const failedReads = reads.filter((o) => !isSuccess(o));
    const failedWrites = writes.filter((o) => !isSuccess(o));
    const atAKill = (o: Outcome) => kills.some((kill) => o.startedAt <= kill.to && o.endedAt >= kill.from);
    const writesInFlightAtKills = writes.filter(atAKill).length;
    recordFigure({
      fault: 'all backends killed every 2 s, 20 s of mixed load',
      promise: 'no crash; reads never fail; a write fails only if in flight at a kill, as a 503; none applied twice',
      test: 'tests/faults/dead-connections.faults.test.ts',
      sent: outcomes.length,
      failed: failedReads.length + failedWrites.length,
      detail: `${reads.length} reads (${failedReads.length} failed), ${writes.length} writes (${failedWrites.length} failed, ${writesInFlightAtKills} in flight at the 10 kills)`,
    });

    expect(
      await Promise.race([service.exited.then((code) => `exited with ${code}`), sleep(10).then(() => 'alive')]),
    ).toBe('alive');
    expect(failedReads).toEqual([]);
    // Each failed write was in flight during a kill (shown with how long after the last kill it began).
    const sinceLastKill = (o: Outcome) =>
      o.startedAt - Math.max(0, ...kills.map((k) => k.to).filter((t) => t <= o.startedAt));
    expect(
      failedWrites.filter((o) => !atAKill(o)).map((o) => ({ startedMsAfterAKill: sinceLastKill(o), body: o.body })),
    ).toEqual([]);
    for (const failure of failedWrites) {
      expect(failure.status).toBe(503);
      expect(JSON.parse(failure.body)).toEqual({ error: 'database_unavailable', message: expect.any(String) });
    }
    const duplicates = await db.query(
      "select title from task where title like 'load %' group by title having count(*) > 1",
    );
    expect(duplicates).toEqual([]);
    const stored = new Set(
      (await db.query<{ title: string }>("select title from task where title like 'load %'")).map((r) => r.title),
    );
    for (const write of writes.filter(isSuccess)) expect(stored.has(write.title as string)).toBe(true);
  });
});
