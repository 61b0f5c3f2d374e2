import { type DatabaseConfig, type DatabaseConfigOverrides, type Environment, loadDatabaseConfig } from '../config.js';
import type { EmbeddedDatabase } from './embedded-database.js';

/**
 * `loadDatabaseConfig()` on an embedded server: the same settings and validation, but the server
 * is `embedded` (started by `AppLifecycle.start()` before it connects, stopped after the ORM
 * closed) and `DATABASE_URL` is not read. Calling this is the explicit request for a local server:
 * the core never starts one by itself.
 */
export function embeddedDatabaseConfig(
  embedded: EmbeddedDatabase,
  overrides: DatabaseConfigOverrides = {},
  env: Environment = process.env,
): DatabaseConfig {
  return loadDatabaseConfig({ ...overrides, lifecycle: { ...overrides.lifecycle, embedded } }, env);
}
