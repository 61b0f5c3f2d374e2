import { MikroORM } from '@mikro-orm/postgresql';
import { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';
import type { DatabaseConfig } from './config.js';
import { DEFAULT_DATABASE, forDatabase } from './database-name.js';
import { boundDatabases, DatabaseRegistration } from './database-registry.js';
import { appLifecycleFor } from './databases-lifecycle.js';
import { InversifyMikroOrmError } from './errors.js';
import { AppLifecycle } from './lifecycle.js';
import { customRepositoryOf, distinctEntities, repositoryOf } from './repository.js';
import { resolveSession, Session } from './session.js';
import { transactionAwareContext, withTransactionScopes } from './transaction-scope.js';

export interface DatabaseModuleOptions {
  /**
   * Binds a database beside the default one: `@inject(Session) @named('reports')`,
   * `container.get(MikroORM, { name: 'reports' })`, `repositoryOf(Report, 'reports')`.
   * Also its MikroORM `contextName`, so each request holds one fork per database.
   */
  name?: string;
}

/** Produces the configuration when the module loads (a secret store, a rotating token). */
export type DatabaseConfigFactory = () => DatabaseConfig | Promise<DatabaseConfig>;

/**
 * Binds a database into a container:
 * - `MikroORM`: one instance for the container, built with `new MikroORM(options)`; it connects lazily.
 * - `Session`: request scope, a forked `EntityManager` (the active request's or job's fork).
 * - `repositoryOf(Entity)` for every entity of the config, and an entity's custom repository class:
 *   the current Session's repository.
 * - `AppLifecycle`: one for the container however many databases are bound; it starts them all.
 *
 * Given a configuration it loads synchronously (`container.load`); given a factory, the module
 * loads with `await container.loadAsync(module)`.
 */
export function databaseModule(
  config: DatabaseConfig | DatabaseConfigFactory,
  options: DatabaseModuleOptions = {},
): ContainerModule {
  const name = databaseName(options);
  if (typeof config === 'function') {
    return new ContainerModule(async (load) => bindDatabase(load, name, await produce(config, name)));
  }
  return new ContainerModule((load) => bindDatabase(load, name, config));
}

function databaseName({ name = DEFAULT_DATABASE }: DatabaseModuleOptions): string {
  if (!/^[A-Za-z][\w-]*$/.test(name)) {
    throw new InversifyMikroOrmError(
      'config',
      `databaseModule: name must start with a letter and hold only letters, digits, "_" and "-" (got "${name}").`,
    );
  }
  return name;
}

async function produce(factory: DatabaseConfigFactory, name: string): Promise<DatabaseConfig> {
  try {
    return await factory();
  } catch (error) {
    throw new InversifyMikroOrmError(
      'config',
      `The configuration factory of database "${name}" failed, so nothing was bound: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
}

function ormOptions(name: string, { lifecycle: _lifecycle, ...options }: DatabaseConfig) {
  if (options.contextName !== undefined && options.contextName !== name) {
    throw new InversifyMikroOrmError(
      'config',
      `Database "${name}" has contextName "${options.contextName}": leave contextName unset, databaseModule sets it to the database name.`,
    );
  }
  return {
    ...options,
    contextName: name,
    entityManager: withTransactionScopes(options.entityManager),
    context: transactionAwareContext(options.context),
  };
}

function bindDatabase({ bind, isBound }: ContainerModuleLoadOptions, name: string, config: DatabaseConfig): void {
  if (isBound(DatabaseRegistration) && isBound(MikroORM, { name })) {
    throw new InversifyMikroOrmError(
      'config',
      `A database named "${name}" is already bound: give each databaseModule its own name ({ name: 'reports' }).`,
    );
  }
  const options = ormOptions(name, config);
  const constraint = forDatabase(name);
  bind(MikroORM)
    .toDynamicValue(() => new MikroORM(options))
    .inSingletonScope()
    .when(constraint);
  bind(Session)
    .toResolvedValue((orm: MikroORM) => resolveSession(orm), [{ serviceIdentifier: MikroORM, name }])
    .inRequestScope()
    .when(constraint);
  for (const entity of distinctEntities(options.entities)) {
    const repository = repositoryOf(entity, name);
    bind(repository)
      .toResolvedValue((session: Session) => session.getRepository(entity), [{ serviceIdentifier: Session, name }])
      .inRequestScope();
    const custom = customRepositoryOf(entity);
    if (custom) {
      bind(custom)
        .toResolvedValue((instance: unknown) => instance, [repository])
        .inRequestScope()
        .when(constraint);
    }
  }
  bind(DatabaseRegistration).toConstantValue({ name, lifecycle: config.lifecycle });
  if (!isBound(AppLifecycle)) {
    bind(AppLifecycle)
      .toDynamicValue((context) => appLifecycleFor(boundDatabases(context)))
      .inSingletonScope();
  }
}
