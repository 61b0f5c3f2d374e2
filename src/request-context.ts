import { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Container } from 'inversify';
import type { Orm } from './orm.js';
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

/**
 * Registers hooks on a Fastify instance so each HTTP request runs inside MikroORM's
 * `RequestContext` with a fresh fork: the controller, its services, guards and middleware all get
 * the same Session, and two requests never share one. Register it before the routes.
 */
export function registerSessionPerRequest(fastify: FastifyInstance, orm: Orm): void {
  const sessions = new WeakMap<FastifyRequest, Session>();

  fastify.addHook('onRequest', (request, _reply, done) => {
    // Calling `done` inside keeps the whole rest of Fastify's chain in this async context.
    runInNewSession(orm, (session) => {
      sessions.set(request, session);
      done();
    });
  });

  // Callback style with a synchronous fast path: nearly every request ends with no transaction
  // open, and an async hook would cost a promise per request for nothing.
  const release = (request: FastifyRequest, done: (error?: Error) => void) => {
    const session = sessions.get(request);
    sessions.delete(request);
    if (!session?.isInTransaction()) return done();
    releaseSession(session, request.log, `${request.method} ${request.url}`).then(() => done(), done);
  };
  fastify.addHook('onResponse', (request, _reply, done) => release(request, done));
  fastify.addHook('onRequestAbort', (request, done) => release(request, done));
}
