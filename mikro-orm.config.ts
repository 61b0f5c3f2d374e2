import { fileURLToPath } from 'node:url';
import type { AnyEntity, EntitySchema, MigrationsOptions, Options } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { TaskSchema } from './src/app/task.entity.js';
import { type DatabaseConfig, loadDatabaseConfig } from './src/index.js';

/**
 * The example's migrations (`npm run migration:create` writes them, `DB_SCHEMA_UPDATE=migrate` runs
 * them). Located from this file, so the same folder is found from the sources (`tsx`, the CLI:
 * `src/app/migrations/*.ts`) and from the build (`dist/src/app/migrations/*.js`), whatever the
 * working directory. The snapshot (the schema the migrations produce, which the next
 * `migration:create` diffs against) has a fixed name, not one per database name.
 */
export const appMigrations: MigrationsOptions = {
  path: fileURLToPath(new URL('./src/app/migrations', import.meta.url)),
  snapshotName: '.snapshot-tasks',
};

/**
 * The one database configuration: the service loads it, and so does the MikroORM CLI below.
 * `extraEntities` is for variants of the service (the benchmarks' 200-entity boot).
 */
export function loadAppDatabaseConfig(extraEntities: EntitySchema<AnyEntity>[] = []): DatabaseConfig {
  return loadDatabaseConfig({ entities: [TaskSchema, ...extraEntities], migrations: appMigrations });
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
