import { MikroORM } from '@mikro-orm/postgresql';
import { ContainerModule } from 'inversify';
import type { DatabaseConfig } from './config.js';
import { AppLifecycle } from './lifecycle.js';
import { resolveSession, Session } from './session.js';

/**
 * Binds the database into a container (loads synchronously):
 * - `MikroORM`: one instance for the container, built with `new MikroORM(options)`; it connects lazily.
 * - `Session`: request scope, a forked `EntityManager` (the active request's fork inside HTTP).
 * - `AppLifecycle`: one instance; `start()` before serving, `stop()` on shutdown.
 */
export function databaseModule(config: DatabaseConfig): ContainerModule {
  const { lifecycle, ...ormOptions } = config;
  return new ContainerModule(({ bind }) => {
    bind(MikroORM)
      .toDynamicValue(() => new MikroORM(ormOptions))
      .inSingletonScope();
    bind(Session)
      .toDynamicValue((context) => resolveSession(context.get(MikroORM)))
      .inRequestScope();
    bind(AppLifecycle)
      .toDynamicValue((context) => new AppLifecycle(context.get(MikroORM), lifecycle))
      .inSingletonScope();
  });
}
