import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADAPTER, BINDING, CONTAINER, DRIVER_AND_POOL, type ProfileTimes, profileTimes } from './cpu-profile.js';
import { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import { paths } from './paths.js';
import { type CpuTimes, cpuSince, cpuTimes } from './process-cpu.js';
import type { ServerProcess } from './server-process.js';
import { type ServerKind, startServer } from './servers.js';
import { round } from './stats.js';
import { type Endpoint, endpoints, SEEDED_TASKS } from './workloads.js';

/**
 * `npm run bench:profile [-- --servers=a,b --seconds=10 --rounds=3 --warmup=5 --top=20]`: where
 * each server's CPU goes under the same load (32 connections, one endpoint at a time).
 *
 * Every server runs with a sampling profiler preloaded (bench/servers/cpu-profiler.ts) that is on
 * only during the measured windows, after a warm-up; servers take turns, endpoint by endpoint,
 * round after round. Reported per request: CPU time from /proc (user and system, all threads; the
 * main thread), and the main thread's sampled time (scaled to its measured CPU time, so that a
 * busy machine, which stretches wall-clock samples, does not inflate it) in two views: by owner
 * (each sample charged to the nearest layer on its stack that decided to do the work: the binding,
 * the container, the adapter, Fastify, the app; what MikroORM does when the binding calls it is
 * the binding's) and by self time. The .cpuprofile files stay in bench/results/profiles/.
 */
const options = new Map(
  process.argv.slice(2).map((arg) => {
    const [key = '', value = ''] = arg.replace(/^--/, '').split('=');
    return [key, value] as const;
  }),
);
const kinds = (options.get('servers') ?? 'a,b').split(',') as ServerKind[];
const seconds = Number(options.get('seconds') ?? 10);
const rounds = Number(options.get('rounds') ?? 3);
const warmupSeconds = Number(options.get('warmup') ?? 5);
const top = Number(options.get('top') ?? 20);
const wanted = Object.keys(endpoints) as Endpoint[];
const CONNECTIONS = 32;

const profilesDir = path.join(paths.results, 'profiles');
rmSync(profilesDir, { recursive: true, force: true });
mkdirSync(profilesDir, { recursive: true });

interface Window {
  file: string;
  responses: number;
  cpu: CpuTimes;
  loadAverage: number;
}

const log = (message: string) => process.stderr.write(`${message}\n`);
const windows = new Map<string, Window[]>();
const db = await BenchDatabase.create('profile');
const servers = new Map<ServerKind, ServerProcess>();
try {
  await db.prepareTasks(SEEDED_TASKS);
  for (const kind of kinds) {
    const env = { BENCH_CPU_PROFILE: path.join(profilesDir, kind) };
    servers.set(
      kind,
      await startServer(kind, db, `bench-profile-${kind}`, env, ['--import', paths.bench('servers/cpu-profiler.js')]),
    );
  }
  const counts = new Map<ServerKind, number>();
  for (let round = 0; round < rounds; round++) {
    for (const endpoint of wanted) {
      for (const kind of kinds.map((_, i) => kinds[(i + round) % kinds.length] as ServerKind)) {
        const server = servers.get(kind) as ServerProcess;
        const load = { url: server.url, connections: CONNECTIONS, warmupSeconds: 0, requests: endpoints[endpoint] };
        await runLoad({ ...load, durationSeconds: warmupSeconds });
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        process.kill(server.pid, 'SIGUSR2');
        const before = cpuTimes(server.pid);
        const result = await runLoad({ ...load, durationSeconds: seconds });
        const cpu = cpuSince(before, cpuTimes(server.pid));
        process.kill(server.pid, 'SIGUSR2');
        const file = `${path.join(profilesDir, kind)}-${counts.get(kind)}.cpuprofile`;
        await waitForFile(file);
        const key = `${endpoint} ${kind}`;
        const window = { file, responses: result.responses, cpu, loadAverage: result.loadAverage };
        windows.set(key, [...(windows.get(key) ?? []), window]);
        log(
          `round ${round + 1}/${rounds} ${key}: ${Math.round(result.requestsPerSecond)} req/s, user ${perRequest(cpu.userMs, result.responses)} µs/req, errors ${result.errors + result.non2xx}, load average ${result.loadAverage.toFixed(2)}`,
        );
      }
    }
  }
} finally {
  await Promise.all([...servers.values()].map((server) => server.stop()));
  await db.drop();
}

function perRequest(ms: number, responses: number): number {
  return round((ms * 1000) / responses, 1);
}

async function waitForFile(file: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no profile written to ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface ServerSummary {
  responses: number;
  /** µs of CPU per request. */
  userUs: number;
  systemUs: number;
  mainThreadUs: number;
  ownedByCategory: Record<string, number>;
  ownedByFunction: Record<string, number>;
  selfByCategory: Record<string, number>;
  selfByFunction: Record<string, number>;
  categories: Record<string, string>;
}

function summarize(list: Window[]): ServerSummary {
  const responses = list.reduce((sum, w) => sum + w.responses, 0);
  const total = (pick: (cpu: CpuTimes) => number) =>
    perRequest(
      list.reduce((sum, w) => sum + pick(w.cpu), 0),
      responses,
    );
  const mainThreadUs = total((cpu) => cpu.mainThreadMs);
  const times: ProfileTimes = profileTimes(list.map((w) => w.file));
  const scale = mainThreadUs / times.busyMicros;
  const scaled = (map: Map<string, number>) =>
    Object.fromEntries(
      [...map].map(([key, micros]) => [key, round(micros * scale, 2)]).sort((x, y) => Number(y[1]) - Number(x[1])),
    );
  return {
    responses,
    userUs: total((cpu) => cpu.userMs),
    systemUs: total((cpu) => cpu.systemMs),
    mainThreadUs,
    ownedByCategory: scaled(times.ownedByCategory),
    ownedByFunction: scaled(times.ownedByFunction),
    selfByCategory: scaled(times.selfByCategory),
    selfByFunction: scaled(times.selfByFunction),
    categories: Object.fromEntries(times.categories),
  };
}

const NAME_WIDTH = 96;
const cell = (value: number | string | undefined) =>
  (typeof value === 'number' ? value.toFixed(1) : (value ?? '-')).padStart(8);

function table(
  title: string,
  summaries: ServerSummary[],
  pick: (s: ServerSummary) => Record<string, number>,
  keys: string[],
): string[] {
  const [first, second] = summaries;
  const diff = (key: string) => (first && second ? (pick(first)[key] ?? 0) - (pick(second)[key] ?? 0) : 0);
  const sorted = [...keys].sort(
    (x, y) =>
      Math.abs(diff(y)) - Math.abs(diff(x)) ||
      (pick(first as ServerSummary)[y] ?? 0) - (pick(first as ServerSummary)[x] ?? 0),
  );
  return [
    `  ${title}`,
    ...sorted.map(
      (key) =>
        `    ${key.slice(0, NAME_WIDTH).padEnd(NAME_WIDTH)}${summaries.map((s) => cell(pick(s)[key])).join('')}${second ? cell(diff(key)) : ''}`,
    ),
  ];
}

const report: Record<string, Record<string, ServerSummary>> = {};
const lines: string[] = [];
for (const endpoint of wanted) {
  const summaries = kinds.map((kind) => summarize(windows.get(`${endpoint} ${kind}`) ?? []));
  report[endpoint] = Object.fromEntries(kinds.map((kind, i) => [kind, summaries[i] as ServerSummary]));
  const header = `${''.padEnd(NAME_WIDTH + 4)}${kinds.map((kind) => cell(kind)).join('')}${kinds.length > 1 ? cell(`${kinds[0]}-${kinds[1]}`) : ''}`;
  const row = (label: string, pick: (s: ServerSummary) => number) =>
    `  ${label.padEnd(NAME_WIDTH + 2)}${summaries.map((s) => cell(pick(s))).join('')}${summaries.length > 1 ? cell(pick(summaries[0] as ServerSummary) - pick(summaries[1] as ServerSummary)) : ''}`;
  const keysOf = (pick: (s: ServerSummary) => Record<string, number>) => [
    ...new Set(summaries.flatMap((s) => Object.keys(pick(s)))),
  ];
  const ours = (key: string) =>
    [BINDING, DRIVER_AND_POOL, CONTAINER, ADAPTER].includes(
      summaries.map((s) => s.categories[key]).find(Boolean) ?? '',
    );
  lines.push(
    `\n## ${endpoint}: CPU µs per request (${rounds} windows of ${seconds} s per server)`,
    header,
    row('user, all threads', (s) => s.userUs),
    row('system, all threads (syscalls: socket reads and writes)', (s) => s.systemUs),
    row('main thread (user + system), the profiled thread', (s) => s.mainThreadUs),
    ...table(
      'main thread by owner (nearest layer on the stack that asked for the work):',
      summaries,
      (s) => s.ownedByCategory,
      keysOf((s) => s.ownedByCategory),
    ),
    ...table(
      `functions of the binding, the container and the adapter, by owned time (top ${top}):`,
      summaries,
      (s) => s.ownedByFunction,
      keysOf((s) => s.ownedByFunction).filter(ours),
    ).slice(0, top + 1),
    ...table(
      'main thread by self time (where the CPU was when sampled):',
      summaries,
      (s) => s.selfByCategory,
      keysOf((s) => s.selfByCategory),
    ),
    ...table(
      `functions by self time, largest difference first (top ${top}):`,
      summaries,
      (s) => s.selfByFunction,
      keysOf((s) => s.selfByFunction),
    ).slice(0, top + 1),
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
writeFileSync(path.join(paths.results, 'profile.json'), `${JSON.stringify(report, null, 2)}\n`);
log(`wrote bench/results/profile.json; the .cpuprofile files are in bench/results/profiles/`);
