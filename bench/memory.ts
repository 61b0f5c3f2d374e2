import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { Profile } from './options.js';
import { paths } from './paths.js';
import { ServerProcess } from './server-process.js';
import { MEMORY_ROUTE, type MemoryReport } from './servers/memory-route.js';
import { round } from './stats.js';
import { mixed } from './workloads.js';

interface MemorySample {
  afterRequests: number;
  rssMb: number;
  heapUsedMb: number;
  /** Heap V8 keeps committed (part of RSS) whether or not objects live in it. */
  heapTotalMb: number;
  externalMb: number;
  mallocedMb: number;
}

export interface ServerMemory {
  samples: MemorySample[];
  /** From the sample after `first` requests to the one after `second`. */
  rssGrowthPercent: number;
  heapGrowthPercent: number;
  errors: number;
}

export interface MemoryFigures {
  first: number;
  second: number;
  /** The Tasks API: the figure with the target. */
  tasksApi: ServerMemory;
  /** Server (b), same ORM and service without the binding, under the same load: the reference. */
  handWired: ServerMemory;
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
const growth = (from: number, to: number) => round(((to - from) / from) * 100, 1);

/** Chunks between the two samples, alternating servers, so both see the same machine. */
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
    const result: MemorySample = {
      afterRequests: state[key].sent,
      rssMb: mb(usage.rss),
      heapUsedMb: mb(usage.heapUsed),
      heapTotalMb: mb(usage.heapTotal),
      externalMb: mb(usage.external),
      mallocedMb: mb(usage.mallocedMemory),
    };
    state[key].samples.push(result);
    progress(
      `memory ${key} after ${result.afterRequests} requests: rss ${result.rssMb} MB, heap used ${result.heapUsedMb} MB (committed ${result.heapTotalMb} MB), external ${result.externalMb} MB, V8 malloc ${result.mallocedMb} MB`,
    );
  };
  const keys: Key[] = ['tasksApi', 'handWired'];
  try {
    for (const key of keys) await sendUpTo(key, profile.warmupRequests);
    for (const key of keys) await sample(key);
    for (const key of keys) await sendUpTo(key, profile.first);
    for (const key of keys) await sample(key);
    for (let chunk = 1; chunk <= CHUNKS; chunk++) {
      const total = Math.round(profile.first + ((profile.second - profile.first) * chunk) / CHUNKS);
      for (const key of chunk % 2 ? keys : [...keys].reverse()) await sendUpTo(key, total);
    }
    for (const key of keys) await sample(key);
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
  const summary = (key: Key): ServerMemory => {
    const [, atFirst, atSecond] = state[key].samples as [MemorySample, MemorySample, MemorySample];
    return {
      samples: state[key].samples,
      rssGrowthPercent: growth(atFirst.rssMb, atSecond.rssMb),
      heapGrowthPercent: growth(atFirst.heapUsedMb, atSecond.heapUsedMb),
      errors: state[key].errors,
    };
  };
  return {
    first: profile.first,
    second: profile.second,
    tasksApi: summary('tasksApi'),
    handWired: summary('handWired'),
  };
}
