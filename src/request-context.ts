import type { Container } from 'inversify';
import { boundDatabases } from './database-registry.js';
import { InversifyMikroOrmError } from './errors.js';
import type { Orm } from './orm.js';
import type { Session } from './session.js';
import type { SessionLogger } from './session-release.js';
import { runInUnitOfWork } from './unit-of-work.js';

const silentLogger: SessionLogger = { warn: () => undefined };

/** Every database bound in the container; a unit of work without one would be a silent no-op. */
export function databaseOrms(container: Container): Orm[] {
  const orms = boundDatabases(container).map((database) => database.orm);
  if (orms.length === 0) {
    throw new InversifyMikroOrmError(
      'config',
      'No database is bound in this container: load databaseModule(config) first.',
    );
  }
  return orms;
}

/**
 * Runs `fn` in its own unit of work, with the guarantees an HTTP request gets: every
 * `container.get(Session)` inside shares one fork per database, and a transaction left open is
 * rolled back. `fn` receives the default database's Session. For jobs, scripts and message handlers.
 */
export async function withSession<T>(
  container: Container,
  fn: (session: Session) => Promise<T>,
  log: SessionLogger = silentLogger,
): Promise<T> {
  return runInUnitOfWork(databaseOrms(container), async (unit) => {
    try {
      if (unit.joins) await unit.joinEnclosing();
      return await fn(unit.primary);
    } finally {
      await unit.end(log, 'withSession');
    }
  });
}
