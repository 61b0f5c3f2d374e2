import type { BoundDatabase } from './database-registry.js';
import { InversifyMikroOrmError, isInversifyMikroOrmError } from './errors.js';
import { AppLifecycle, type StartOptions } from './lifecycle.js';
import type { Logger } from './logger.js';

/** The container's one AppLifecycle, for however many databases its modules bound (at least one). */
export function appLifecycleFor(databases: readonly BoundDatabase[]): AppLifecycle {
  const [first, ...others] = databases as [BoundDatabase, ...BoundDatabase[]];
  return others.length === 0 ? new AppLifecycle(first.orm, first.settings) : new DatabasesLifecycle(first, others);
}

/** Every log line of one database says which one it is. */
function labelled(log: Logger, database: string): Logger {
  return {
    info: (details, message) => log.info({ database, ...details }, message),
    warn: (details, message) => log.warn({ database, ...details }, message),
    error: (details, message) => log.error({ database, ...details }, message),
  };
}

function didNotStart(database: string, error: unknown): InversifyMikroOrmError {
  const kind = isInversifyMikroOrmError(error) ? error.kind : 'lifecycle';
  const reason = error instanceof Error ? error.message : String(error);
  return new InversifyMikroOrmError(kind, `Database "${database}" did not start: ${reason}`, { cause: error });
}

/**
 * Several databases: the first one's own lifecycle (hooks, logger, state) starts the others right
 * after its own database is ready, before any hook the application registers, and stops them, in
 * reverse order, after the application's stop hooks and before closing its own.
 */
class DatabasesLifecycle extends AppLifecycle {
  #ownDatabaseReady = false;

  constructor(
    private readonly first: BoundDatabase,
    others: readonly BoundDatabase[],
  ) {
    super(first.orm, first.settings);
    const lifecycles = others.map((database) => ({
      database,
      lifecycle: new AppLifecycle(database.orm, database.settings),
    }));
    this.onStart('databases', async () => {
      this.#ownDatabaseReady = true;
      for (const { database, lifecycle } of lifecycles) {
        await lifecycle
          .useLogger(labelled(this.log, database.name))
          .start()
          .catch((error: unknown) => {
            throw didNotStart(database.name, error);
          });
      }
    });
    for (const { database, lifecycle } of lifecycles) {
      // Its own steps are each bounded by its stop timeout: closing the ORM, then an embedded server.
      const timeoutMs = 2 * database.settings.stopTimeoutMs + 1000;
      this.onStop(`database "${database.name}"`, () => lifecycle.useLogger(labelled(this.log, database.name)).stop(), {
        timeoutMs,
      });
    }
  }

  override start(options?: StartOptions): Promise<void> {
    return super.start(options).catch((error: unknown) => {
      const ownDatabaseFailed =
        !this.#ownDatabaseReady &&
        !isInversifyMikroOrmError(error, 'scope') &&
        !isInversifyMikroOrmError(error, 'lifecycle');
      throw ownDatabaseFailed ? didNotStart(this.first.name, error) : error;
    });
  }
}
