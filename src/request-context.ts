import { MikroORM } from '@mikro-orm/postgresql';
import type { Container } from 'inversify';
import { runInNewSession, type Session } from './session.js';
import { releaseSession, type SessionLogger } from './session-release.js';

const silentLogger: SessionLogger = { warn: () => undefined };

/**
 * Runs `fn` in its own unit of work, with the guarantees an HTTP request gets: every
 * `container.get(Session)` inside shares one fork, and a transaction left open is rolled back.
 * For jobs, scripts and message handlers.
 */
export async function withSession<T>(
  container: Container,
  fn: (session: Session) => Promise<T>,
  log: SessionLogger = silentLogger,
): Promise<T> {
  return runInNewSession(container.get(MikroORM), async (session) => {
    try {
      return await fn(session);
    } finally {
      await releaseSession(session, log, 'withSession');
    }
  });
}
