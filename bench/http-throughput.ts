import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { LoadResult } from './load-spec.js';
import type { LoadProfile } from './options.js';
import { checkParity } from './parity.js';
import type { ServerProcess } from './server-process.js';
import { CORE_KINDS, PEER_KINDS, type ServerKind, startServer } from './servers.js';
import { median, round } from './stats.js';
import { warmUp } from './warm-up.js';
import { type Endpoint, endpoints } from './workloads.js';

type PerServer = Partial<Record<ServerKind, number>>;

export interface EndpointFigures {
  /** Medians over the rounds, for each server that ran. */
  requestsPerSecond: PerServer;
  p50Ms: PerServer;
  p99Ms: PerServer;
  /** The server's CPU time per response (user + system, all threads), µs. */
  cpuUsPerRequest: PerServer;
  /** Median of the per-round ratios (each round's servers ran seconds apart). */
  ratioAB: number;
  ratioAC: number;
  /** The same a/b by CPU time per request (b's over a's): steadier on a busy machine. */
  cpuRatioAB?: number;
  /** Ours over NestJS, and Express over ours (Fastify), when the peers ran. */
  ratioAD?: number;
  cpuRatioAD?: number;
  ratioEA?: number;
  errors: number;
  /** Median 1-minute load average over the measurements (about 2 is this run alone). */
  loadAverage: number;
  rounds: Array<Partial<Record<ServerKind, LoadResult>>>;
}

export type HttpFigures = Record<Endpoint, EndpointFigures>;

/**
 * Item 2: the servers run side by side. Each round measures every server on every endpoint, each
 * measurement preceded by its own warm-up; the order of the servers rotates from round to round
 * (a b c, b c a, c a b) so none always runs first or last. Ratios are taken within a round and
 * their median reported: a burst of other work on the machine then spoils one round, not the
 * result. With `peers`, (d) NestJS and (e) Express run in the same rounds.
 */
export async function httpThroughput(
  db: BenchDatabase,
  profile: LoadProfile,
  peers: boolean,
  progress: (message: string) => void,
): Promise<HttpFigures> {
  const kinds = peers ? [...CORE_KINDS, ...PEER_KINDS] : CORE_KINDS;
  const servers: Partial<Record<ServerKind, ServerProcess>> = {};
  try {
    for (const kind of kinds) servers[kind] = await startServer(kind, db, `bench-http-${kind}`);
    await checkParity(servers);
    await warmUp(Object.values(servers), Object.values(endpoints), profile);
    const rounds: Record<Endpoint, Array<Partial<Record<ServerKind, LoadResult>>>> = {
      'GET /tasks/:id': [],
      'POST /tasks': [],
    };
    for (let round = 0; round < profile.rounds; round++) {
      // Endpoint by endpoint, so the measurements that make a ratio are close in time.
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as ServerKind);
      for (const endpoint of Object.keys(endpoints) as Endpoint[]) {
        const results: Partial<Record<ServerKind, LoadResult>> = {};
        for (const kind of order) {
          const server = servers[kind] as ServerProcess;
          const result = await runLoad({
            url: server.url,
            connections: profile.connections,
            warmupSeconds: profile.warmupSeconds,
            durationSeconds: profile.measureSeconds,
            requests: endpoints[endpoint],
            serverPid: server.pid,
          });
          results[kind] = result;
          progress(
            `round ${round + 1}/${profile.rounds} ${endpoint} ${kind}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${round2(result.p50Ms)} ms, p99 ${round2(result.p99Ms)} ms, CPU ${Math.round(result.serverCpuUsPerResponse ?? 0)} µs/req, errors ${result.errors + result.non2xx}, load average ${result.loadAverage.toFixed(2)}`,
          );
        }
        rounds[endpoint].push(results);
      }
    }
    return {
      'GET /tasks/:id': summarize(kinds, rounds['GET /tasks/:id']),
      'POST /tasks': summarize(kinds, rounds['POST /tasks']),
    };
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

const round2 = (value: number) => round(value, 2);

function summarize(kinds: ServerKind[], rounds: Array<Partial<Record<ServerKind, LoadResult>>>): EndpointFigures {
  const result = (r: Partial<Record<ServerKind, LoadResult>>, kind: ServerKind) => r[kind] as LoadResult;
  const per = (pick: (result: LoadResult) => number) =>
    Object.fromEntries(kinds.map((kind) => [kind, round2(median(rounds.map((r) => pick(result(r, kind)))))]));
  const cpu = (r: Partial<Record<ServerKind, LoadResult>>, kind: ServerKind) =>
    result(r, kind).serverCpuUsPerResponse ?? Number.NaN;
  /** Median over rounds of x/y: req/s of x over y, or by CPU, y's CPU per request over x's. */
  const ratio = (x: ServerKind, y: ServerKind) =>
    kinds.includes(x) && kinds.includes(y)
      ? round(median(rounds.map((r) => result(r, x).requestsPerSecond / result(r, y).requestsPerSecond)), 3)
      : undefined;
  const cpuRatio = (x: ServerKind, y: ServerKind) =>
    kinds.includes(x) && kinds.includes(y) ? round(median(rounds.map((r) => cpu(r, y) / cpu(r, x))), 3) : undefined;
  return {
    requestsPerSecond: per((r) => r.requestsPerSecond),
    p50Ms: per((r) => r.p50Ms),
    p99Ms: per((r) => r.p99Ms),
    cpuUsPerRequest: per((r) => r.serverCpuUsPerResponse ?? Number.NaN),
    ratioAB: ratio('a', 'b') as number,
    ratioAC: ratio('a', 'c') as number,
    cpuRatioAB: cpuRatio('a', 'b'),
    ratioAD: ratio('a', 'd'),
    cpuRatioAD: cpuRatio('a', 'd'),
    ratioEA: ratio('e', 'a'),
    loadAverage: round2(median(rounds.flatMap((r) => kinds.map((kind) => result(r, kind).loadAverage)))),
    errors: rounds.reduce(
      (sum, r) => sum + kinds.reduce((s, k) => s + result(r, k).errors + result(r, k).non2xx, 0),
      0,
    ),
    rounds,
  };
}
