import 'reflect-metadata';
import { Container } from 'inversify';
import { AppLifecycle, type DatabaseConfigOverrides, databaseModule, loadDatabaseConfig } from '../../src/index.js';
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

/** Server connections whose application_name is `name`, as PostgreSQL itself reports them. */
export async function serverConnections(db: IsolatedDatabase, name: string): Promise<number> {
  const [row] = await db.query<{ count: string }>('select count(*) from pg_stat_activity where application_name = $1', [
    name,
  ]);
  return Number(row?.count);
}
