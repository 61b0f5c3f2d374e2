import { MikroORM } from '@mikro-orm/postgresql';
import type { ResolutionContext, ServiceIdentifier } from 'inversify';
import type { LifecycleSettings } from './config.js';
import type { Orm } from './orm.js';

/** One database a `databaseModule` bound: what the container's one AppLifecycle needs to start it. */
export interface DatabaseRegistration {
  readonly name: string;
  readonly lifecycle: LifecycleSettings;
}

export const DatabaseRegistration: ServiceIdentifier<DatabaseRegistration> = Symbol('inversify-mikro-orm:database');

export interface BoundDatabase {
  readonly name: string;
  readonly orm: Orm;
  readonly settings: LifecycleSettings;
}

/** What both a container and a binding's resolution context can do. */
type Resolver = Pick<ResolutionContext, 'get' | 'getAll'>;

/** Every database bound in the container, in the order their modules were loaded. */
export function boundDatabases(resolver: Resolver): BoundDatabase[] {
  return resolver.getAll(DatabaseRegistration).map(({ name, lifecycle }) => ({
    name,
    orm: resolver.get(MikroORM, { name }) as Orm,
    settings: lifecycle,
  }));
}
