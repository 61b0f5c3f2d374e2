import { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Container } from 'inversify';
import { boundDatabases } from './database-registry.js';
import { InversifyMikroOrmError } from './errors.js';
import type { Orm } from './orm.js';
import type { Session } from './session.js';
import type { SessionLogger } from './session-release.js';
import { runInUnitOfWork, type UnitOfWork } from './unit-of-work.js';

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

/**
 * Registers hooks on a Fastify instance so each HTTP request runs inside MikroORM's
 * `RequestContext` with a fresh fork per database: the controller, its services, guards and
 * middleware all get the same Sessions, and two requests never share one. Pass the container to
 * cover every database bound in it (or one ORM for that database only). Register it before the routes.
 */
export function registerSessionPerRequest(fastify: FastifyInstance, databases: Container | Orm): void {
  const orms = databases instanceof MikroORM ? [databases as Orm] : databaseOrms(databases as Container);
  const units = new WeakMap<FastifyRequest, UnitOfWork>();
  const where = (request: FastifyRequest) => `${request.method} ${request.url}`;

  fastify.addHook('onRequest', (request, _reply, done) => {
    // Calling `done` inside keeps the whole rest of Fastify's chain in this async context.
    runInUnitOfWork(orms, (unit) => {
      units.set(request, unit);
      if (!unit.joins) return done();
      unit.joinEnclosing().then(() => done(), done);
    });
  });

  endJoinedUnitsBeforeResponding(fastify, units, where);

  // Callback style with a synchronous fast path: nearly every request ends with no transaction
  // open, and an async hook would cost a promise per request for nothing.
  const release = (request: FastifyRequest, done: (error?: Error) => void) => {
    const unit = units.get(request);
    units.delete(request);
    if (!unit || unit.settled) return done();
    unit.end(request.log, where(request)).then(() => done(), done);
  };
  fastify.addHook('onResponse', (request, _reply, done) => release(request, done));
  fastify.addHook('onRequestAbort', (request, done) => release(request, done));
}

/**
 * A request working in a savepoint of its caller's transaction (a test's `withRollback`) ends it
 * before its response goes out, so the caller's next statement finds the transaction usable.
 *
 * That makes `onSend` asynchronous for those requests, and an async handler that calls
 * `reply.send()` without returning `reply` (the Inversify adapter's do) would then resolve
 * before the reply is sent, and Fastify would send a second, empty reply. Such a handler's
 * result is turned into `reply`, which Fastify awaits: what its documentation asks handlers to do.
 */
function endJoinedUnitsBeforeResponding(
  fastify: FastifyInstance,
  units: WeakMap<FastifyRequest, UnitOfWork>,
  where: (request: FastifyRequest) => string,
): void {
  const sending = new WeakSet<FastifyRequest>();

  fastify.addHook('onSend', (request, _reply, payload, done) => {
    const unit = units.get(request);
    if (!unit?.joins) return done(null, payload);
    sending.add(request);
    unit.end(request.log, where(request)).then(
      () => done(null, payload),
      (error: Error) => done(error),
    );
  });

  fastify.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      const result = handler.call(this, request, reply);
      if (!units.get(request)?.joins || !(result instanceof Promise)) return result;
      return result.then((value: unknown) => (value === undefined && sending.has(request) ? reply : value));
    };
  });
}
