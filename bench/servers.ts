import type { BenchDatabase } from './database.js';
import { paths } from './paths.js';
import { ServerProcess } from './server-process.js';

/** The three servers of the HTTP comparison. */
export const SERVER_KINDS = {
  a: {
    label: 'Tasks API: TaskService (findOne, create + flush) through the container, the adapter and the binding',
    entry: () => paths.tasksApi,
  },
  b: {
    label: 'the same TaskService hand-wired on Fastify + MikroORM RequestContext (no container, no binding)',
    entry: () => paths.bench('servers/hand-wired-mikro-orm.js'),
  },
  c: { label: 'Fastify + pg.Pool, hand-written SQL, no ORM (floor)', entry: () => paths.bench('servers/raw-pg.js') },
} as const;

export type ServerKind = keyof typeof SERVER_KINDS;

/** Same database, same pool size (DB_POOL_MAX, default 15), one application_name each for pg_stat_activity. */
export function startServer(
  kind: ServerKind,
  db: BenchDatabase,
  applicationName: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return ServerProcess.start(kind, SERVER_KINDS[kind].entry(), {
    env: { DATABASE_URL: db.url(applicationName), NODE_ENV: 'production', ...env },
  });
}
