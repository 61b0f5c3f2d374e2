import type { Session } from './session.js';

export interface SessionLogger {
  warn(details: object, message: string): void;
}

/**
 * Ends a unit of work: a transaction the code left open is rolled back so its connection goes
 * back to the pool instead of staying `idle in transaction`. Returns whether there was a leak.
 */
export async function releaseSession(session: Session, log: SessionLogger, where: string): Promise<boolean> {
  if (!session.isInTransaction()) return false;
  log.warn(
    { where },
    'A transaction was still open at the end of the unit of work; rolling it back. Commit or roll back explicitly, or use em.transactional().',
  );
  try {
    await session.rollback();
  } catch (error) {
    log.warn(
      { where, error: (error as Error).message },
      'Rolling back the leaked transaction failed; its connection is discarded',
    );
  }
  return true;
}
