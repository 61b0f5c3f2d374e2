import type { BenchDatabase } from './database.js';
import { paths } from './paths.js';
import { peerPaths } from './peers.js';
import { ServerProcess } from './server-process.js';

/** The servers of the HTTP comparison; (d) and (e) are the peers, run when asked (full runs, `--peers`). */
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
  d: {
    label: 'NestJS 12 (Fastify adapter) + @mikro-orm/nestjs: the same entity, calls and pool size',
    entry: () => peerPaths.nestjs,
  },
  e: {
    label: 'the Tasks API on Express 5: inversify-mikro-orm/express + @inversifyjs/http-express',
    entry: () => paths.bench('servers/tasks-api-express.js'),
  },
} as const;

export type ServerKind = keyof typeof SERVER_KINDS;

export const CORE_KINDS: ServerKind[] = ['a', 'b', 'c'];
export const PEER_KINDS: ServerKind[] = ['d', 'e'];

/** Same database, same pool size (DB_POOL_MAX, default 15), one application_name each for pg_stat_activity. */
export function startServer(
  kind: ServerKind,
  db: BenchDatabase,
  applicationName: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  return ServerProcess.start(kind, SERVER_KINDS[kind].entry(), {
    env: { DATABASE_URL: db.url(applicationName), NODE_ENV: 'production', ...env },
    nodeArgs,
  });
}
