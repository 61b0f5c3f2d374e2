import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { Profile } from './options.js';
import { paths } from './paths.js';
import { residentMemory } from './process-memory.js';
import { ServerProcess } from './server-process.js';
import { MEMORY_ROUTE, type MemoryReport } from './servers/memory-route.js';
import { round } from './stats.js';
import { mixed } from './workloads.js';

export interface MemorySample {
  afterRequests: number;
  rssMb: number;
  heapUsedMb: number;
  /** Heap V8 keeps committed whether or not objects live in it. */
  heapTotalMb: number;
  /** The part of the V8 heap resident in memory (part of RSS), by space and in all. */
  heapResidentMb: number;
  heapSpacesResidentMb: Record<string, number>;
  /** Memory of Buffers and ArrayBuffers (malloc'd, outside the V8 heap), and of all external objects. */
  arrayBuffersMb: number;
  externalMb: number;
  mallocedMb: number;
  /** RSS as Linux splits it: anonymous (V8 heap, malloc arenas, stacks) and file-backed (code). */
  rssAnonMb: number;
  rssFileMb: number;
  /** Anonymous RSS that is not the V8 heap: malloc arenas and the like. */
  nativeMb: number;
}

export interface ServerMemory {
  samples: MemorySample[];
  /** From the sample after `first` requests to the one after `second`. */
  rssGrowthPercent: number;
  heapGrowthPercent: number;
  errors: number;
}

/** One run: both servers started afresh and loaded chunk by chunk side by side. */
export interface MemoryRun {
  /** The Tasks API: the figure with the target. */
  tasksApi: ServerMemory;
  /** Server (b), same ORM and service without the binding, under the same load: the reference. */
  handWired: ServerMemory;
}

export interface MemoryFigures {
  first: number;
  second: number;
  /** RSS growth differs from process to process, so it is measured in several runs and reported as a spread. */
  runs: MemoryRun[];
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
const growth = (from: number, to: number) => round(((to - from) / from) * 100, 1);

/** Chunks between the two samples, alternating servers, so both see the same machine; each ends with a sample. */
const CHUNKS = 5;

/**
 * Item 4: the Tasks API under a long mixed load (four reads to one write). RSS and heap are read
 * after a full GC, after `first` requests and again after `second`; identity maps and forks that
 * outlived their requests would show up as heap growth between the two. The hand-wired server (b)
 * runs the same load alongside, chunk by chunk: growth it shows too does not come from the binding.
 */
export async function memory(
  db: BenchDatabase,
  profile: Profile['memory'],
  progress: (message: string) => void,
): Promise<MemoryFigures> {
  const runs: MemoryRun[] = [];
  for (let run = 1; run <= profile.runs; run++) {
    runs.push(await memoryRun(db, profile, (message) => progress(`run ${run}/${profile.runs}: ${message}`)));
  }
  return { first: profile.first, second: profile.second, runs };
}

async function memoryRun(
  db: BenchDatabase,
  profile: Profile['memory'],
  progress: (message: string) => void,
): Promise<MemoryRun> {
  const env = { DATABASE_URL: db.url('bench-memory'), NODE_ENV: 'production', BENCH_MEMORY_ROUTE: '1' };
  const servers = {
    tasksApi: await ServerProcess.start('memory-a', paths.bench('servers/tasks-api-with-memory.js'), {
      env,
      nodeArgs: ['--expose-gc'],
    }),
    handWired: await ServerProcess.start('memory-b', paths.bench('servers/hand-wired-mikro-orm.js'), {
      env,
      nodeArgs: ['--expose-gc'],
    }),
  };
  type Key = keyof typeof servers;
  const state = {
    tasksApi: { sent: 0, errors: 0, samples: [] as MemorySample[] },
    handWired: { sent: 0, errors: 0, samples: [] as MemorySample[] },
  };
  const sendUpTo = async (key: Key, total: number) => {
    const amount = total - state[key].sent;
    if (amount <= 0) return;
    const result = await runLoad({
      url: servers[key].url,
      connections: profile.connections,
      warmupSeconds: 0,
      amount,
      requests: mixed,
    });
    state[key].sent += result.responses;
    state[key].errors += result.errors + result.non2xx;
  };
  const sample = async (key: Key) => {
    const usage = (await (await fetch(`${servers[key].url}${MEMORY_ROUTE}`)).json()) as MemoryReport;
    const resident = residentMemory(servers[key].pid);
    const spaces = Object.entries(usage.heapSpaces);
    const heapResident = spaces.reduce((sum, [, space]) => sum + space.physical, 0);
    const result: MemorySample = {
      afterRequests: state[key].sent,
      rssMb: mb(usage.rss),
      heapUsedMb: mb(usage.heapUsed),
      heapTotalMb: mb(usage.heapTotal),
      heapResidentMb: mb(heapResident),
      heapSpacesResidentMb: Object.fromEntries(spaces.map(([name, space]) => [name, mb(space.physical)])),
      arrayBuffersMb: mb(usage.arrayBuffers),
      externalMb: mb(usage.external),
      mallocedMb: mb(usage.mallocedMemory),
      rssAnonMb: mb(resident.anonBytes),
      rssFileMb: mb(resident.fileBytes),
      nativeMb: mb(resident.anonBytes - heapResident),
    };
    state[key].samples.push(result);
    progress(
      `memory ${key} after ${result.afterRequests} requests: rss ${result.rssMb} MB (anonymous ${result.rssAnonMb}, file ${result.rssFileMb}); V8 heap used ${result.heapUsedMb} MB, resident ${result.heapResidentMb} MB (new space ${result.heapSpacesResidentMb.new_space ?? '-'}, old space ${result.heapSpacesResidentMb.old_space ?? '-'}, code ${result.heapSpacesResidentMb.code_space ?? '-'}); outside it ${result.nativeMb} MB (array buffers ${result.arrayBuffersMb}, V8 malloc ${result.mallocedMb})`,
    );
  };
  const keys: Key[] = ['tasksApi', 'handWired'];
  try {
    for (const key of keys) await sendUpTo(key, profile.warmupRequests);
    for (const key of keys) await sample(key);
    for (const key of keys) await sendUpTo(key, profile.first);
    for (const key of keys) await sample(key);
    // A sample after each chunk: the curve shows whether memory keeps growing or levels off.
    for (let chunk = 1; chunk <= CHUNKS; chunk++) {
      const total = Math.round(profile.first + ((profile.second - profile.first) * chunk) / CHUNKS);
      for (const key of chunk % 2 ? keys : [...keys].reverse()) await sendUpTo(key, total);
      for (const key of keys) await sample(key);
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
  const summary = (key: Key): ServerMemory => {
    const atFirst = state[key].samples[1] as MemorySample;
    const atSecond = state[key].samples.at(-1) as MemorySample;
    return {
      samples: state[key].samples,
      rssGrowthPercent: growth(atFirst.rssMb, atSecond.rssMb),
      heapGrowthPercent: growth(atFirst.heapUsedMb, atSecond.heapUsedMb),
      errors: state[key].errors,
    };
  };
  return { tasksApi: summary('tasksApi'), handWired: summary('handWired') };
}
