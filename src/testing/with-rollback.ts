import type { Container } from 'inversify';
import { databaseOrms } from '../request-context.js';
import type { Session } from '../session.js';
import { runInUnitOfWork } from '../unit-of-work.js';

/**
 * Runs `fn` in one unit of work inside a transaction per database that is always rolled back, so
 * a test leaves no rows behind. Every `container.get(Session)` and repository inside shares it,
 * and so do HTTP requests sent with `fastify.inject()` from inside `fn` (each in a savepoint of
 * its own: its writes are visible to the test, a statement that fails in it does not abort the
 * test's transaction). `fn` receives the default database's Session.
 *
 * What commits on its own escapes the rollback: `REQUIRES_NEW`, `NOT_SUPPORTED`, an explicit
 * `commit()`, work on another connection (`orm.em.fork()` outside this unit of work).
 */
export async function withRollback<T>(container: Container, fn: (session: Session) => Promise<T>): Promise<T> {
  return runInUnitOfWork(databaseOrms(container), async (unit) => {
    try {
      if (unit.joins) await unit.joinEnclosing();
      await unit.begin();
      return await fn(unit.primary);
    } finally {
      await unit.rollback();
    }
  });
}
