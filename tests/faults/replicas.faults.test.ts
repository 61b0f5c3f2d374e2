import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaCluster, startReplicaCluster } from '../helpers/replica-cluster.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { uniqueApplicationName } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { sleep, taggedUrl } from './helpers.js';
import { isSuccess, MixedLoad, type Outcome } from './load.js';

const TEST_FILE = 'tests/faults/replicas.faults.test.ts';
const DATABASE = 'app';
/** Short, so a stall is measured in seconds; the default (5000) leaves room for slow replica reads. */
const REPLICA_TIMEOUT_MS = 1000;
const DOWN = 'Read replica replica-1 is unavailable';
const BACK = 'Read replica replica-1 answers again';

interface Summary {
  reads: Outcome[];
  writes: Outcome[];
  failedReads: Outcome[];
  failedWrites: Outcome[];
}

function summarize(outcomes: Outcome[]): Summary {
  const reads = outcomes.filter((o) => o.kind === 'read');
  const writes = outcomes.filter((o) => o.kind === 'write');
  return {
    reads,
    writes,
    failedReads: reads.filter((o) => !isSuccess(o)),
    failedWrites: writes.filter((o) => !isSuccess(o)),
  };
}

/** The slowest read that was in flight at `moment`. */
function slowestReadAt(reads: Outcome[], moment: number): number {
  const inFlight = reads.filter((o) => o.startedAt <= moment && o.endedAt >= moment);
  return Math.max(0, ...inFlight.map((o) => o.endedAt - o.startedAt));
}

const logTime = (line: Record<string, unknown>) => Number(line.time);
const startsWith = (prefix: string) => (line: Record<string, unknown>) => String(line.msg).startsWith(prefix);

describe('read replicas under faults: a real streaming replica (pg_basebackup -R) of a PostgreSQL 15 started by the test', () => {
  let cluster: ReplicaCluster;
  let service: ServiceProcess | undefined;
  let proxy: TcpProxy | undefined;
  let readIds: number[];

  beforeAll(async () => {
    cluster = await startReplicaCluster();
    await cluster.createDatabase(DATABASE);
  }, 120_000);

  afterEach(async () => {
    await service?.kill();
    service = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** The Tasks API as a real process, reading from `replicaUrl`; seeds 50 tasks the replica has replayed. */
  async function startService(replicaUrl: string): Promise<ServiceProcess> {
    const started = await ServiceProcess.start({
      DATABASE_URL: cluster.primaryUrl(DATABASE),
      DATABASE_REPLICA_URLS: replicaUrl,
      DB_REPLICA_TIMEOUT_MS: String(REPLICA_TIMEOUT_MS),
    });
    readIds ??= (
      await cluster.primaryQuery<{ id: number }>(
        "insert into task (title, done, created_at, updated_at) select 'seed ' || i, false, now(), now() from generate_series(1, 50) as i returning id",
        [],
        DATABASE,
      )
    ).map((row) => row.id);
    await cluster.waitForReplay();
    return started;
  }

  /** Transactions the replica served for `database` so far: every read outside a transaction is one. */
  async function replicaTransactions(): Promise<number> {
    const [row] = await cluster.replicaQuery<{ count: string }>(
      'select xact_commit + xact_rollback as count from pg_stat_database where datname = $1',
      [DATABASE],
    );
    return Number(row?.count);
  }

  /**
   * How many transactions the replica serves in 1.5 s of the running load. A server publishes a
   * backend's counts at most once a second, so a shorter window could see none.
   */
  async function replicaReadRate(): Promise<number> {
    const before = await replicaTransactions();
    await sleep(1500);
    return (await replicaTransactions()) - before;
  }

  async function readiness(): Promise<{ status: number; body: { replicas?: Array<{ status: string }> } }> {
    const response = await fetch(`${service?.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as { replicas?: Array<{ status: string }> } };
  }

  it('a replica killed under mixed load (pg_ctl stop -m immediate): 0 failed reads, readiness stays 200, reads return to it once restarted', async () => {
    const replicaTag = uniqueApplicationName('replica-reader');
    service = await startService(taggedUrl(cluster.replicaUrl(DATABASE), replicaTag));
    const load = new MixedLoad(service.url, { workers: 8, readIds, writeShare: 0.2 });
    load.start();
    await sleep(1500);
    expect(await replicaReadRate()).toBeGreaterThan(20);

    const killedAt = Date.now();
    await cluster.killReplica();
    await sleep(1500);
    const duringOutage = await readiness();
    await sleep(1500);
    const restartedAt = Date.now();
    await cluster.startReplica();
    const acceptingMs = Date.now() - restartedAt;
    const back = await service.waitFor(startsWith(BACK), 15_000);
    await sleep(500);
    const rateAfter = await replicaReadRate();
    const outcomes = await load.stop();

    const { reads, writes, failedReads, failedWrites } = summarize(outcomes);
    const down = service.lines.find(startsWith(DOWN));
    const fallbackMs = down ? logTime(down) - killedAt : Number.NaN;
    const returnMs = logTime(back) - restartedAt;
    recordFigure({
      fault: 'read replica killed (pg_ctl stop -m immediate) under mixed load, restarted 3 s later',
      promise:
        'reads fall back to the primary with 0 failed; /health/ready stays 200 (replica reported down); reads return to the replica once it answers',
      test: TEST_FILE,
      sent: outcomes.length,
      failed: failedReads.length + failedWrites.length,
      recoveryMs: returnMs,
      detail: `${reads.length} reads (${failedReads.length} failed), ${writes.length} writes (${failedWrites.length} failed); marked down ${fallbackMs} ms after the kill, slowest read in flight at the kill ${slowestReadAt(reads, killedAt)} ms; back on the replica ${returnMs} ms after pg_ctl start was issued (which returned after ${acceptingMs} ms) (${rateAfter} replica reads in the next 1.5 s)`,
    });
    expect(failedReads).toEqual([]);
    expect(failedWrites).toEqual([]);
    expect(duringOutage.status).toBe(200);
    expect(duringOutage.body.replicas).toEqual([expect.objectContaining({ name: 'replica-1', status: 'down' })]);
    expect(rateAfter).toBeGreaterThan(20);
  });

  const stalls: Array<[string, (proxy: TcpProxy) => Promise<number>]> = [
    [
      'every connection frozen for good (half-open), new ones fine',
      async (proxy) => {
        proxy.freezeAll();
        return Date.now();
      },
    ],
    [
      'all traffic held for 3 s (the replica answers nothing, not even new connections)',
      async (proxy) => {
        proxy.stall();
        await sleep(3000);
        proxy.resume();
        return Date.now();
      },
    ],
  ];

  it.each(stalls)(
    'a stalled replica (%s): reads fall back to the primary within DB_REPLICA_TIMEOUT_MS, 0 failed, and return after',
    async (label, stall) => {
      proxy = await TcpProxy.start({ host: '127.0.0.1', port: cluster.replicaPort });
      service = await startService(proxy.urlFor(cluster.replicaUrl(DATABASE)));
      const load = new MixedLoad(service.url, { workers: 8, readIds, writeShare: 0.2 });
      load.start();
      await sleep(1500);
      const rateBefore = await replicaReadRate();
      if (rateBefore <= 20) throw new Error(`reads are not on the replica: ${rateBefore}\n${service.dump()}`);

      const stalledAt = Date.now();
      const endedAt = await stall(proxy);
      const back = await service.waitFor((line) => startsWith(BACK)(line) && logTime(line) >= stalledAt, 15_000);
      await sleep(500);
      const rateAfter = await replicaReadRate();
      const outcomes = await load.stop();

      const { reads, writes, failedReads, failedWrites } = summarize(outcomes);
      const down = service.lines.find(startsWith(DOWN));
      const fallbackMs = down ? logTime(down) - stalledAt : Number.NaN;
      const slowest = slowestReadAt(reads, stalledAt + 1);
      const returnMs = logTime(back) - endedAt;
      recordFigure({
        fault: `read replica stalled: ${label}, under mixed load (DB_REPLICA_TIMEOUT_MS=${REPLICA_TIMEOUT_MS})`,
        promise:
          'a read the replica does not answer within DB_REPLICA_TIMEOUT_MS goes to the primary (0 failed); reads return to the replica once it answers',
        test: TEST_FILE,
        sent: outcomes.length,
        failed: failedReads.length + failedWrites.length,
        recoveryMs: returnMs,
        detail: `${reads.length} reads (${failedReads.length} failed), ${writes.length} writes (${failedWrites.length} failed); marked down ${fallbackMs} ms after the stall, slowest read in flight at it ${slowest} ms; back on the replica ${returnMs} ms after the stall ended (${rateAfter} replica reads in the next 1.5 s)`,
      });
      expect(failedReads).toEqual([]);
      expect(failedWrites).toEqual([]);
      expect(fallbackMs).toBeLessThan(REPLICA_TIMEOUT_MS + 1000);
      expect(slowest).toBeLessThan(REPLICA_TIMEOUT_MS + 1500);
      expect(rateAfter).toBeGreaterThan(20);
    },
  );

  it('replication lag: another request may read stale data until the replica replays; the writing request never does', async () => {
    service = await startService(cluster.replicaUrl(DATABASE));
    const base = service.url;
    const create = async (title: string) => {
      const response = await fetch(`${base}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      return ((await response.json()) as { id: number }).id;
    };
    /** A write, then at once a read of it in another request (a fresh Session, so a replica read). */
    const staleAfterWrite = async (pairs: number) => {
      let stale = 0;
      for (let i = 0; i < pairs; i++) {
        const id = await create(`lag ${i}`);
        if ((await fetch(`${base}/tasks/${id}`)).status === 404) stale++;
      }
      return stale;
    };

    const staleStreaming = await staleAfterWrite(200);
    await cluster.pauseReplay();
    let stalePaused: number;
    let patched: number;
    let deleted: number;
    let lagging: Awaited<ReturnType<typeof readiness>>;
    try {
      stalePaused = await staleAfterWrite(20);
      // A change reads what it changes from the primary (the Tasks API's own rule), so it never sees the lag.
      const fresh = await create('changed at once');
      patched = (
        await fetch(`${base}/tasks/${fresh}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ done: true }),
        })
      ).status;
      deleted = (await fetch(`${base}/tasks/${await create('deleted at once')}`, { method: 'DELETE' })).status;
      await sleep(5500);
      await create('one more write, so the replica has something left to replay');
      lagging = await readiness();
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.waitForReplay();
    const lagSeconds = (lagging.body.replicas?.[0] as { lagSeconds?: number } | undefined)?.lagSeconds ?? Number.NaN;
    recordFigure({
      fault:
        'replication lag: a task read in a new request right after it was created (200 pairs), then with replay paused on the replica (20 pairs)',
      promise:
        'a Session reads its own writes (from the primary); another request reads the replica and may see data up to the lag old; /health/ready stays 200 and reports the replica lagging',
      test: TEST_FILE,
      sent: 444,
      detail: `streaming normally: ${staleStreaming} of 200 reads stale (404); replay paused: ${stalePaused} of 20 stale, a PATCH and a DELETE of tasks created a moment before answered ${patched} and ${deleted}; readiness ${lagging.status} with replica-1 ${lagging.body.replicas?.[0]?.status} (lag ${lagSeconds.toFixed(1)} s)`,
    });
    expect(stalePaused).toBe(20);
    expect(patched).toBe(200);
    expect(deleted).toBe(204);
    expect(lagging.status).toBe(200);
    expect(lagging.body.replicas).toEqual([expect.objectContaining({ name: 'replica-1', status: 'lagging' })]);
  });
});
