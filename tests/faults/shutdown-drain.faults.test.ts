import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serverConnections } from '../helpers/database-container.js';
import { type HttpOutcome, postTask, warmKeepAlive } from '../helpers/http-outcome.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { sleep, taggedUrl } from './helpers.js';

const RUNS = 20;
/** Requests each on a connection of its own (`connection: close`), all sent just before SIGTERM (the 300). */
const FRESH = 300;
/** Requests on warmed keep-alive connections, one each, sent with the fresh ones. */
const KEPT = 20;
/** Requests on idle keep-alive connections, sent once the service has logged that it is draining. */
const DURING_DRAIN = 10;
/** Requests on new connections, one after another, from the moment the drain is seen until the process exits. */
const LATE_MAX = 30;
const LATE_INTERVAL_MS = 10;
/** SIGTERM lands from 0 to 57 ms into the burst: before, while and after the requests are read. */
const signalDelayMs = (run: number) => run * 3;

type Group = 'fresh' | 'kept' | 'during' | 'late';

interface Sent {
  title: string;
  group: Group;
  outcome: HttpOutcome;
  /** When the outcome was known. */
  at: number;
}

interface ConnectionEnd {
  how: 'closed' | 'reset';
  at: number;
}

/**
 * Opens a connection that sends nothing: the service keeps it for SHUTDOWN_GRACE_MS after its
 * listener closed, then closes it. `ended` says how and when.
 */
function silentConnection(url: string): Promise<{ ended: Promise<ConnectionEnd> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.off('error', reject);
      const ended = new Promise<ConnectionEnd>((settle) => {
        socket.on('error', () => settle({ how: 'reset', at: Date.now() }));
        socket.on('end', () => {
          settle({ how: 'closed', at: Date.now() });
          socket.end();
        });
      });
      resolve({ ended });
    });
    socket.once('error', reject);
  });
}

const tally = (sent: Sent[], kind: string) =>
  sent.filter(({ outcome }) => (outcome.kind === 'answered' ? String(outcome.status) : outcome.kind) === kind).length;

describe('SIGTERM during a burst of writes', () => {
  let db: IsolatedDatabase;
  let service: ServiceProcess | undefined;
  const agents: http.Agent[] = [];

  beforeAll(async () => {
    db = await testDatabase.create('shutdown_drain');
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy();
    await service?.kill();
    service = undefined;
  });

  afterAll(async () => {
    await db.drop();
  });

  /** One service (default SHUTDOWN_GRACE_MS), one burst, one SIGTERM: what every request came to, and what the database holds. */
  async function run(index: number) {
    const applicationName = uniqueApplicationName(`drain-${index}`);
    const running = await ServiceProcess.start({ DATABASE_URL: taggedUrl(db.url, applicationName) });
    service = running;
    let exited = false;
    void running.exited.then(() => {
      exited = true;
    });
    const silent = await silentConnection(running.url);
    const kept = new http.Agent({ keepAlive: true, maxSockets: KEPT });
    const idle = new http.Agent({ keepAlive: true, maxSockets: DURING_DRAIN });
    agents.push(kept, idle);
    await Promise.all([warmKeepAlive(running.url, kept, KEPT), warmKeepAlive(running.url, idle, DURING_DRAIN)]);

    const title = (group: Group, i: number) => `drain ${index} ${group} ${i}`;
    const send = (group: Group, i: number, agent: http.Agent | false): Promise<Sent> =>
      postTask(running.url, title(group, i), agent).then((outcome) => ({
        title: title(group, i),
        group,
        outcome,
        at: Date.now(),
      }));
    /** Keeps connecting while the service drains: each attempt is answered (accepted in time) or refused. */
    const late = async () => {
      const outcomes: Sent[] = [];
      for (let i = 0; i < LATE_MAX && !exited; i++) {
        outcomes.push(await send('late', i, false));
        await sleep(LATE_INTERVAL_MS);
      }
      return outcomes;
    };
    const burst = [
      ...Array.from({ length: FRESH }, (_, i) => send('fresh', i, false)),
      ...Array.from({ length: KEPT }, (_, i) => send('kept', i, kept)),
    ];
    await sleep(signalDelayMs(index));
    running.signal('SIGTERM');
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    const duringDrain = Array.from({ length: DURING_DRAIN }, (_, i) => send('during', i, idle));
    const lateAttempts = late();

    const sent = [...(await Promise.all([...burst, ...duringDrain])), ...(await lateAttempts)];
    const exitCode = await running.exited;
    const rows = await db.query<{ title: string; n: number }>(
      'select title, count(*)::int as n from task where title like $1 group by title',
      [`drain ${index} %`],
    );
    const stored = new Map(rows.map((row) => [row.title, row.n]));
    return {
      sent,
      stored,
      exitCode,
      silentEnd: await silent.ended,
      connectionsLeft: await serverConnections(db, applicationName),
    };
  }

  it(`answers every connection accepted before its listener closed and refuses later ones (${RUNS} runs): no reset, each 201 stored once, no 503 stored`, async () => {
    const all: Sent[] = [];
    const storedWrongly: string[] = [];
    const runsCutMidBurst: number[] = [];
    const runsWithResets: number[] = [];
    /** Late attempts accepted after an earlier one was refused: the listener was open again, or the refusal was not clean. */
    const acceptedAfterRefusal: string[] = [];
    const runsRefusingWhileDraining: number[] = [];
    for (let index = 0; index < RUNS; index++) {
      const { sent, stored, exitCode, silentEnd, connectionsLeft } = await run(index);
      expect(silentEnd.how, `run ${index}: a connection that sent nothing is closed, not reset`).toBe('closed');
      expect(exitCode, `run ${index}: exit code`).toBe(0);
      expect(connectionsLeft, `run ${index}: database connections left`).toBe(0);
      for (const { title, outcome } of sent) {
        const rows = stored.get(title) ?? 0;
        const expected = outcome.kind === 'answered' && outcome.status === 201 ? 1 : 0;
        if (outcome.kind !== 'reset' && rows !== expected) storedWrongly.push(`${title}: ${rows} rows`);
      }
      const burst = sent.filter(({ group }) => group !== 'during');
      if (tally(burst, '201') > 0 && tally(burst, '503') > 0) runsCutMidBurst.push(index);
      if (tally(sent, 'reset') > 0) runsWithResets.push(index);
      const late = sent.filter(({ group }) => group === 'late');
      const firstRefused = late.findIndex(({ outcome }) => outcome.kind === 'refused');
      if (firstRefused >= 0) {
        acceptedAfterRefusal.push(
          ...late.slice(firstRefused).flatMap(({ title, outcome }) => (outcome.kind === 'refused' ? [] : [title])),
        );
      }
      // The service closes the silent connection after the grace: a refusal before that was the listener's.
      if (late.some(({ outcome, at }) => outcome.kind === 'refused' && at < silentEnd.at)) {
        runsRefusingWhileDraining.push(index);
      }
      all.push(...sent);
    }

    const resets = all.filter(({ outcome }) => outcome.kind === 'reset');
    const answered = all.flatMap(({ group, outcome }) => (outcome.kind === 'answered' ? [{ group, ...outcome }] : []));
    const refusals = answered.filter(({ status }) => status === 503);
    const duringDrain = all.filter(({ group }) => group === 'during').map(({ outcome }) => outcome);
    const lateAll = all.filter(({ group }) => group === 'late');
    recordFigure({
      fault: `SIGTERM 0–57 ms into a burst of ${FRESH + KEPT} writes (${FRESH} on new connections, ${KEPT} keep-alive), default SHUTDOWN_GRACE_MS, ${RUNS} runs; new connections keep coming during the drain`,
      promise:
        'every connection accepted before SIGTERM is answered: 201 stored once, or 503 + connection: close + Retry-After and never stored; a connection not accepted is refused (ECONNREFUSED), never reset; exit 0, no database connection left',
      test: 'tests/faults/shutdown-drain.faults.test.ts',
      sent: all.length,
      failed: resets.length,
      detail: `${tally(all, '201')} answered 201, ${refusals.length} answered 503 (${tally(
        all.filter(({ group }) => group === 'during'),
        '503',
      )} of the ${duringDrain.length} sent on idle keep-alive connections during the drain), ${tally(all, 'refused')} refused (${tally(lateAll, 'refused')} of the ${lateAll.length} connections attempted during the drain, ${tally(lateAll, '503')} of them accepted before the listener closed and answered 503), ${resets.length} reset (in ${runsWithResets.length} runs); SIGTERM cut ${runsCutMidBurst.length} of ${RUNS} bursts midway`,
    });

    expect(resets.map(({ title, outcome }) => `${title}: ${JSON.stringify(outcome)}`)).toEqual([]);
    expect(storedWrongly).toEqual([]);
    expect(answered.filter(({ status }) => status !== 201 && status !== 503)).toEqual([]);
    expect(refusals.filter((r) => !r.connectionClose || r.retryAfter === undefined)).toEqual([]);
    // A request sent on an idle keep-alive connection during the drain is answered, and its connection closed.
    expect(duringDrain).toEqual(
      Array.from({ length: DURING_DRAIN * RUNS }, () =>
        expect.objectContaining({ status: 503, connectionClose: true }),
      ),
    );
    // Once the listener has closed, a new connection is refused, never accepted again nor reset...
    expect(acceptedAfterRefusal).toEqual([]);
    // ...and that is seen while the service still drains, not only once the process is gone.
    expect(runsRefusingWhileDraining).toEqual(Array.from({ length: RUNS }, (_, index) => index));
    // The scenario happened: some bursts were cut midway, with some requests served and later ones refused.
    expect(runsCutMidBurst.length).toBeGreaterThan(0);
  });
});
