import pg from 'pg';
import type { BenchDatabase } from './database.js';
import { runLoad } from './load-client.js';
import type { Profile } from './options.js';
import { startServer } from './servers.js';
import { round } from './stats.js';
import { mixed } from './workloads.js';

export interface SaturationFigures {
  connections: number;
  poolMax: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  responses: number;
  /** non-2xx responses plus socket errors and timeouts. */
  errors: number;
  /** Most server connections of the service seen in pg_stat_activity, sampled every 100 ms. */
  maxServerConnections: number;
  samples: number;
}

const SAMPLE_EVERY_MS = 100;

/**
 * Item 3: far more clients than connections. 512 keep-alive clients send the mixed workload to
 * the Tasks API with a pool of 15; every request must succeed (they queue for a connection), and
 * PostgreSQL itself must never see more than 15 connections from the service.
 */
export async function saturation(
  db: BenchDatabase,
  profile: Profile['saturation'],
  progress: (message: string) => void,
): Promise<SaturationFigures> {
  const applicationName = `bench-saturation-${process.pid}`;
  const server = await startServer('a', db, applicationName, { DB_POOL_MAX: String(profile.poolMax) });
  const monitor = new pg.Client({ connectionString: db.url(), application_name: 'bench-monitor' });
  await monitor.connect();
  let maxServerConnections = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await monitor.query<{ count: string }>(
        'select count(*) from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      maxServerConnections = Math.max(maxServerConnections, Number(rows[0]?.count));
      samples++;
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  })();
  try {
    const result = await runLoad({
      url: server.url,
      connections: profile.connections,
      warmupSeconds: profile.warmupSeconds,
      durationSeconds: profile.measureSeconds,
      requests: mixed,
    });
    const figures: SaturationFigures = {
      connections: profile.connections,
      poolMax: profile.poolMax,
      requestsPerSecond: round(result.requestsPerSecond, 0),
      p50Ms: round(result.p50Ms, 2),
      p99Ms: round(result.p99Ms, 2),
      maxMs: round(result.maxMs, 2),
      responses: result.responses,
      errors: result.errors + result.non2xx,
      maxServerConnections,
      samples,
    };
    progress(
      `saturation: ${figures.connections} clients, pool ${figures.poolMax}: ${figures.requestsPerSecond} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, errors ${figures.errors}, max server connections ${maxServerConnections}`,
    );
    return figures;
  } finally {
    sampling = false;
    await sampler.catch(() => undefined);
    await monitor.end();
    await server.stop();
  }
}
