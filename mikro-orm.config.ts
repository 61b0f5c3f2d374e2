import type { Options } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { loadAppDatabaseConfig } from './src/app/database-config.js';

/** The CLI is a development tool: like `npm start`, it runs the embedded server when DATABASE_URL is not set. */
const stderr = { info: (_details: object, message: string) => console.error(message) };

/**
 * What the MikroORM CLI (`npx mikro-orm ...`) reads: the service's own database configuration.
 * Without DATABASE_URL the embedded server has to be running before the CLI connects; it stops
 * when the CLI process exits.
 */
export default async function cliConfig(): Promise<Partial<Options<PostgreSqlDriver>>> {
  const databaseConfig = loadAppDatabaseConfig({ embeddedWithoutUrl: true }, stderr);
  const { embedded } = databaseConfig.lifecycle;
  await embedded?.start();
  embedded?.unref?.();
  const { lifecycle: _lifecycle, ...options } = databaseConfig;
  return options;
}
