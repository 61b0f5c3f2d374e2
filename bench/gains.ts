import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { LoadProfile } from './options.js';
import { paths } from './paths.js';
import { ServerProcess } from './server-process.js';
import { median, round } from './stats.js';
import { warmUp } from './warm-up.js';
import { type Endpoint, endpoints } from './workloads.js';

interface Side {
  label: string;
  /** BENCH_UNDO: the optimizations undone (none: the service as it is). */
  undo?: string;
  env?: Record<string, string>;
}

interface Comparison {
  optimization: string;
  endpoint: Endpoint;
  with: Side;
  without: Side;
}

export interface GainFigures {
  optimization: string;
  endpoint: Endpoint;
  withLabel: string;
  withoutLabel: string;
  /** Medians over the rounds. */
  withRequestsPerSecond: number;
  withoutRequestsPerSecond: number;
  /** Median of the per-round ratios with/without. */
  gain: number;
  rounds: Array<{ with: number; without: number }>;
}

/** Each choice kept in the service, against the service with just that choice undone. */
const COMPARISONS: Comparison[] = [
  {
    optimization: 'respond with a plain TaskView, not the entity (the schema serializer calls entity.toJSON())',
    endpoint: 'POST /tasks',
    with: { label: 'TaskView' },
    without: { label: 'entity', undo: 'plain-views' },
  },
  {
    optimization: 'the same, on a findOne read',
    endpoint: 'GET /tasks/:id',
    with: { label: 'TaskView' },
    without: { label: 'entity', undo: 'plain-views' },
  },
  {
    optimization: 'LOG_LEVEL=warn: no per-request log lines (deployment setting)',
    endpoint: 'GET /tasks/:id',
    with: { label: 'LOG_LEVEL=warn' },
    without: { label: 'LOG_LEVEL=info', env: { LOG_LEVEL: 'info' } },
  },
];

function startSide(db: BenchDatabase, side: Side, name: string): Promise<ServerProcess> {
  // Both sides run the same bench entry, wired as the app's service.ts, so only what BENCH_UNDO names differs.
  return ServerProcess.start(name, paths.bench('servers/tasks-api-variant.js'), {
    env: { DATABASE_URL: db.url(name), NODE_ENV: 'production', BENCH_UNDO: side.undo ?? '', ...side.env },
  });
}

/**
 * "What closed the gap": each optimization A/B in one run, both servers up side by side, rounds
 * alternating which goes first, each measurement after its own warm-up.
 */
export async function gains(
  db: BenchDatabase,
  profile: LoadProfile,
  progress: (message: string) => void,
): Promise<GainFigures[]> {
  const figures: GainFigures[] = [];
  for (const comparison of COMPARISONS) {
    const servers = {
      with: await startSide(db, comparison.with, 'bench-gain-with'),
      without: await startSide(db, comparison.without, 'bench-gain-without'),
    };
    try {
      await warmUp([servers.with, servers.without], [endpoints[comparison.endpoint]], profile);
      const rounds: Array<{ with: number; without: number }> = [];
      for (let round = 0; round < profile.rounds; round++) {
        const order = round % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const);
        const result = { with: 0, without: 0 };
        for (const side of order) {
          const load = await runLoad({
            url: servers[side].url,
            connections: profile.connections,
            warmupSeconds: profile.warmupSeconds,
            durationSeconds: profile.measureSeconds,
            requests: endpoints[comparison.endpoint],
          });
          if (load.errors + load.non2xx > 0) throw new Error(`${comparison.optimization}: ${side} had errors`);
          result[side] = load.requestsPerSecond;
        }
        rounds.push(result);
      }
      const gain = round(median(rounds.map((r) => r.with / r.without)), 3);
      figures.push({
        optimization: comparison.optimization,
        endpoint: comparison.endpoint,
        withLabel: comparison.with.label,
        withoutLabel: comparison.without.label,
        withRequestsPerSecond: round(median(rounds.map((r) => r.with)), 0),
        withoutRequestsPerSecond: round(median(rounds.map((r) => r.without)), 0),
        gain,
        rounds,
      });
      progress(`gain ${comparison.endpoint}, ${comparison.with.label} vs ${comparison.without.label}: x${gain}`);
    } finally {
      await Promise.all([servers.with.stop(), servers.without.stop()]);
    }
  }
  return figures;
}
