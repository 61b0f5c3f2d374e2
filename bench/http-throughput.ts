import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { LoadResult } from './load-spec.js';
import type { LoadProfile } from './options.js';
import { checkParity } from './parity.js';
import type { ServerProcess } from './server-process.js';
import { type ServerKind, startServer } from './servers.js';
import { median, round } from './stats.js';
import { warmUp } from './warm-up.js';
import { type Endpoint, endpoints } from './workloads.js';

export interface EndpointFigures {
  /** Medians over the rounds. */
  requestsPerSecond: Record<ServerKind, number>;
  p50Ms: Record<ServerKind, number>;
  p99Ms: Record<ServerKind, number>;
  /** Median of the per-round ratios (each round's servers ran seconds apart). */
  ratioAB: number;
  ratioAC: number;
  errors: number;
  /** Median 1-minute load average over the measurements (about 2 is this run alone). */
  loadAverage: number;
  rounds: Array<Record<ServerKind, LoadResult>>;
}

export type HttpFigures = Record<Endpoint, EndpointFigures>;

const KINDS: ServerKind[] = ['a', 'b', 'c'];

/**
 * Item 2: the three servers run side by side. Each round measures every server on every endpoint,
 * each measurement preceded by its own warm-up; the order of the servers rotates from round to
 * round (a b c, b c a, c a b) so none always runs first or last. Ratios are taken within a round
 * and their median reported: a burst of other work on the machine then spoils one round, not the
 * result.
 */
export async function httpThroughput(
  db: BenchDatabase,
  profile: LoadProfile,
  progress: (message: string) => void,
): Promise<HttpFigures> {
  const servers = {} as Record<ServerKind, ServerProcess>;
  try {
    for (const kind of KINDS) servers[kind] = await startServer(kind, db, `bench-http-${kind}`);
    await checkParity(servers);
    await warmUp(Object.values(servers), Object.values(endpoints), profile);
    const rounds: Record<Endpoint, Array<Record<ServerKind, LoadResult>>> = { 'GET /tasks/:id': [], 'POST /tasks': [] };
    for (let round = 0; round < profile.rounds; round++) {
      // Endpoint by endpoint, so the three measurements that make a ratio are close in time.
      const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length] as ServerKind);
      for (const endpoint of Object.keys(endpoints) as Endpoint[]) {
        const results = {} as Record<ServerKind, LoadResult>;
        for (const kind of order) {
          const result = await runLoad({
            url: servers[kind].url,
            connections: profile.connections,
            warmupSeconds: profile.warmupSeconds,
            durationSeconds: profile.measureSeconds,
            requests: endpoints[endpoint],
          });
          results[kind] = result;
          progress(
            `round ${round + 1}/${profile.rounds} ${endpoint} ${kind}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${round2(result.p50Ms)} ms, p99 ${round2(result.p99Ms)} ms, errors ${result.errors + result.non2xx}, load average ${result.loadAverage.toFixed(2)}`,
          );
        }
        rounds[endpoint].push(results);
      }
    }
    return {
      'GET /tasks/:id': summarize(rounds['GET /tasks/:id']),
      'POST /tasks': summarize(rounds['POST /tasks']),
    };
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

const round2 = (value: number) => round(value, 2);

function summarize(rounds: Array<Record<ServerKind, LoadResult>>): EndpointFigures {
  const per = (pick: (result: LoadResult) => number) =>
    Object.fromEntries(KINDS.map((kind) => [kind, round2(median(rounds.map((r) => pick(r[kind]))))])) as Record<
      ServerKind,
      number
    >;
  return {
    requestsPerSecond: per((r) => r.requestsPerSecond),
    p50Ms: per((r) => r.p50Ms),
    p99Ms: per((r) => r.p99Ms),
    ratioAB: round(median(rounds.map((r) => r.a.requestsPerSecond / r.b.requestsPerSecond)), 3),
    ratioAC: round(median(rounds.map((r) => r.a.requestsPerSecond / r.c.requestsPerSecond)), 3),
    loadAverage: round2(median(rounds.flatMap((r) => KINDS.map((kind) => r[kind].loadAverage)))),
    errors: rounds.reduce((sum, r) => sum + KINDS.reduce((s, k) => s + r[k].errors + r[k].non2xx, 0), 0),
    rounds,
  };
}
