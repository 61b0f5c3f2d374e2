import type { AnyEntity, EntitySchema, Options } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { TaskSchema } from './src/app/task.entity.js';
import { type DatabaseConfig, loadDatabaseConfig } from './src/index.js';

/**
 * The one database configuration: the service loads it, and so does the MikroORM CLI below.
 * `extraEntities` is for variants of the service (the benchmarks' 200-entity boot).
 */
export function loadAppDatabaseConfig(extraEntities: EntitySchema<AnyEntity>[] = []): DatabaseConfig {
  return loadDatabaseConfig({ entities: [TaskSchema, ...extraEntities] });
}

/**
 * What the MikroORM CLI (`npx mikro-orm ...`) reads. Without DATABASE_URL the embedded server has
 * to be running before the CLI connects; it stops when the CLI process exits.
 */
export default async function cliConfig(): Promise<Partial<Options<PostgreSqlDriver>>> {
  const databaseConfig = loadAppDatabaseConfig();
  const { embedded } = databaseConfig.lifecycle;
  await embedded?.start();
  embedded?.unref();
  const { lifecycle: _lifecycle, ...options } = databaseConfig;
  return options;
}
