import type { MikroOrmModuleSyncOptions } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { TaskSchema } from '../../../src/app/task.entity.js';

/**
 * MikroORM as a NestJS user configures it for @mikro-orm/nestjs: MikroORM's own PostgreSQL driver,
 * and the pool the Tasks API runs with, as far as `pg.Pool` options can express it (the defaults
 * of loadDatabaseConfig: min 5, max DB_POOL_MAX or 15, idle 10 s, lifetime 300 s, acquire timeout
 * 30 s, TCP keep-alive). What pg-pool has no option for (validation on checkout, jittered
 * lifetimes, leak detection: the binding's pool supervision) is not there.
 */
export function nestOrmOptions(env: NodeJS.ProcessEnv): MikroOrmModuleSyncOptions {
  const clientUrl = env.DATABASE_URL;
  if (!clientUrl) throw new Error('DATABASE_URL is required');
  const max = Number(env.DB_POOL_MAX || 15);
  const min = Math.min(5, max);
  const idleTimeoutMillis = 10_000;
  return {
    driver: PostgreSqlDriver,
    clientUrl,
    entities: [TaskSchema],
    pool: { min, max, idleTimeoutMillis },
    driverOptions: {
      application_name: new URL(clientUrl).searchParams.get('application_name') ?? 'bench-nestjs',
      min,
      max,
      idleTimeoutMillis,
      maxLifetimeSeconds: 300,
      connectionTimeoutMillis: 30_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    },
    debug: false,
    ensureDatabase: false,
  };
}
