import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { Profile } from './options.js';
import { paths } from './paths.js';
import { ServerProcess } from './server-process.js';
import { MEMORY_ROUTE } from './servers/memory-route.js';
import { round } from './stats.js';
import { mixed } from './workloads.js';

interface MemorySample {
  afterRequests: number;
  rssMb: number;
  heapUsedMb: number;
  /** Heap V8 keeps committed (part of RSS) whether or not objects live in it. */
  heapTotalMb: number;
  externalMb: number;
}

export interface MemoryFigures {
  samples: MemorySample[];
  /** From the sample after `first` requests to the one after `second`. */
  rssGrowthPercent: number;
  heapGrowthPercent: number;
  errors: number;
  first: number;
  second: number;
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

/**
 * Item 4: the Tasks API under a long mixed load (four reads to one write). RSS and heap are read
 * after a full GC, after `first` requests and again after `second`; identity maps and forks that
 * outlived their requests would show up as growth between the two.
 */
export async function memory(
  db: BenchDatabase,
  profile: Profile['memory'],
  progress: (message: string) => void,
): Promise<MemoryFigures> {
  const server = await ServerProcess.start('memory', paths.bench('servers/tasks-api-with-memory.js'), {
    env: { DATABASE_URL: db.url('bench-memory'), NODE_ENV: 'production' },
    nodeArgs: ['--expose-gc'],
  });
  try {
    const sample = async (afterRequests: number): Promise<MemorySample> => {
      const usage = (await (await fetch(`${server.url}${MEMORY_ROUTE}`)).json()) as NodeJS.MemoryUsage;
      const result = {
        afterRequests,
        rssMb: mb(usage.rss),
        heapUsedMb: mb(usage.heapUsed),
        heapTotalMb: mb(usage.heapTotal),
        externalMb: mb(usage.external),
      };
      progress(
        `memory after ${afterRequests} requests: rss ${result.rssMb} MB, heap used ${result.heapUsedMb} MB (committed ${result.heapTotalMb} MB), external ${result.externalMb} MB`,
      );
      return result;
    };
    let errors = 0;
    let sent = 0;
    const send = async (amount: number) => {
      const result = await runLoad({
        url: server.url,
        connections: profile.connections,
        warmupSeconds: 0,
        amount,
        requests: mixed,
      });
      errors += result.errors + result.non2xx;
      sent += result.responses;
    };
    await send(profile.warmupRequests);
    const samples = [await sample(sent)];
    await send(profile.first - sent);
    samples.push(await sample(sent));
    await send(profile.second - sent);
    samples.push(await sample(sent));
    const [, atFirst, atSecond] = samples as [MemorySample, MemorySample, MemorySample];
    const growth = (from: number, to: number) => round(((to - from) / from) * 100, 1);
    return {
      samples,
      rssGrowthPercent: growth(atFirst.rssMb, atSecond.rssMb),
      heapGrowthPercent: growth(atFirst.heapUsedMb, atSecond.heapUsedMb),
      errors,
      first: profile.first,
      second: profile.second,
    };
  } finally {
    await server.stop();
  }
}
