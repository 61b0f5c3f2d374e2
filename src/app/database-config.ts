import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import type { MigrationsOptions } from '@mikro-orm/core';
import { type DatabaseConfig, type Environment, type Logger, loadDatabaseConfig } from 'inversify-mikro-orm';
import { EmbeddedDatabase, embeddedDatabaseConfig } from 'inversify-mikro-orm/embedded';
import { TaskSchema } from './task.entity.js';

export interface AppDatabaseOptions {
  /**
   * Development only (`npm start`, the MikroORM CLI): without DATABASE_URL, run an embedded
   * PostgreSQL in EMBEDDED_PG_DATA_DIR. Never the default: a deployment that forgot DATABASE_URL
   * must fail, not run on a throwaway local database.
   */
  embeddedWithoutUrl?: boolean;
}

const EMBEDDED_DATABASE = 'app';

/**
 * The example's migrations (`npm run migration:create` writes them, `DB_SCHEMA_UPDATE=migrate` runs
 * them). Located from this file, so the same folder is found from the sources (`tsx`, the CLI:
 * `src/app/migrations/*.ts`) and from the build (`dist/src/app/migrations/*.js`), whatever the
 * working directory. The snapshot (the schema the migrations produce, which the next
 * `migration:create` diffs against) has a fixed name, not one per database name.
 */
export const appMigrations: MigrationsOptions = {
  path: fileURLToPath(new URL('./migrations', import.meta.url)),
  snapshotName: '.snapshot-tasks',
};

/** The Tasks API's database: DATABASE_URL, or the embedded server when development asks for it. */
export function loadAppDatabaseConfig(
  options: AppDatabaseOptions,
  log: Pick<Logger, 'info'>,
  env: Environment = process.env,
): DatabaseConfig {
  const overrides = { entities: [TaskSchema], migrations: appMigrations };
  const vars = withDotenvFile(env);
  if (!options.embeddedWithoutUrl || vars.DATABASE_URL?.trim()) return loadDatabaseConfig(overrides, env);
  const dataDir = path.resolve(vars.EMBEDDED_PG_DATA_DIR?.trim() || '.data/postgres');
  log.info(
    { dataDir },
    `Development database: DATABASE_URL is not set, so an embedded PostgreSQL runs in ${dataDir} (data kept across restarts). Set DATABASE_URL to use another server; a deployment runs dist/src/app/main.js, which requires it.`,
  );
  return embeddedDatabaseConfig(new EmbeddedDatabase({ dataDir, database: EMBEDDED_DATABASE }), overrides, env);
}

/** The environment as the library reads it: `.env` fills what the process environment does not set. */
function withDotenvFile(env: Environment): Environment {
  if (env !== process.env || !existsSync('.env')) return env;
  return { ...parseEnv(readFileSync('.env', 'utf8')), ...env };
}
