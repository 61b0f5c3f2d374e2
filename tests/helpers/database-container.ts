import 'reflect-metadata';
import { Container } from 'inversify';
import { AppLifecycle, type DatabaseConfigOverrides, databaseModule, loadDatabaseConfig } from '../../src/index.js';
import { pgBouncerClients, pgBouncerDropConnections, throughPgBouncer } from './pooler.js';
import type { IsolatedDatabase } from './test-database.js';

export interface StartedContainer {
  container: Container;
  lifecycle: AppLifecycle;
}

/** A container wired exactly as an application would do it, against one isolated test database. */
export async function startContainer(
  db: IsolatedDatabase,
  overrides: DatabaseConfigOverrides,
  env: Record<string, string> = {},
): Promise<StartedContainer> {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig(overrides, db.env(env))));
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start();
  return { container, lifecycle };
}

/**
 * The database of each connection whose application_name is `name`, as the server the library
 * connects to reports them: PostgreSQL's pg_stat_activity, or PgBouncer's clients when the tests
 * go through it (see ./pooler.ts).
 */
export async function connectionDatabases(db: IsolatedDatabase, name: string): Promise<string[]> {
  if (throughPgBouncer()) {
    return (await pgBouncerClients(db.url)).filter((row) => row.application_name === name).map((row) => row.database);
  }
  const rows = await db.query<{ datname: string }>('select datname from pg_stat_activity where application_name = $1', [
    name,
  ]);
  return rows.map((row) => row.datname);
}

/** Connections whose application_name is `name`, as the server the library connects to reports them. */
export async function serverConnections(db: IsolatedDatabase, name: string): Promise<number> {
  return (await connectionDatabases(db, name)).length;
}

/**
 * Ends every connection of `name` from the server's side and waits until they are gone:
 * `pg_terminate_backend`, or through PgBouncer its `KILL` of the database's connections.
 */
export async function dropEveryConnection(db: IsolatedDatabase, name: string): Promise<void> {
  if (throughPgBouncer()) return pgBouncerDropConnections(db.url, db.name);
  await db.query('select pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name = $1', [name]);
}
