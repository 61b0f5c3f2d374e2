import {
  type DatabaseConfig,
  type DatabaseConfigOverrides,
  type Environment,
  loadDatabaseConfig,
  withDotenv,
} from '../config.js';
import type { EmbeddedDatabase } from './embedded-database.js';

/**
 * `loadDatabaseConfig()` for an embedded server: the same settings and validation, but the
 * connection is `embedded` (started by `AppLifecycle.start()` before it connects, stopped after the
 * ORM closed) and `DATABASE_URL` is not read. Calling this is the explicit request for a local
 * server: the core never starts one by itself.
 */
export function embeddedDatabaseConfig(
  embedded: EmbeddedDatabase,
  overrides: DatabaseConfigOverrides = {},
  env: Environment = process.env,
): DatabaseConfig {
  const { database } = embedded.options;
  // MikroORM needs a URL to build its platform; host, port and password arrive when the server starts.
  const placeholder = `postgresql://postgres@127.0.0.1/${encodeURIComponent(database)}`;
  const config = loadDatabaseConfig(overrides, { ...withDotenv(env), DATABASE_URL: placeholder });
  return {
    ...config,
    dbName: database,
    driverOptions: embedded.driverOptions(config.driverOptions as Record<string, unknown>),
    lifecycle: { ...config.lifecycle, endpoint: `embedded PostgreSQL (${embedded.options.dataDir})`, embedded },
  };
}
