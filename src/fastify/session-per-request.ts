import type { FastifyPluginCallback } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { HttpSessions } from '../http-sessions.js';
import type { Orm } from '../orm.js';

export interface SessionPerRequestOptions {
  /** The container's ORM: `container.get(MikroORM)`. */
  orm: Orm;
}

const sessionPerRequest: FastifyPluginCallback<SessionPerRequestOptions> = (fastify, { orm }, done) => {
  const sessions = new HttpSessions(orm);
  fastify.addHook('onRequest', (request, reply, next) => {
    // Calling `next` inside keeps the whole rest of Fastify's chain in the request's Session.
    sessions.run(
      reply.raw,
      request.log,
      () => `${request.method} ${request.url}`,
      () => next(),
    );
  });
  // What this plugin opened is the rollbacks of requests that left a transaction open: let them finish.
  fastify.addHook('onClose', (_instance, next) => {
    sessions.settled().then(() => next(), next);
  });
  done();
};

/**
 * A Fastify plugin: each HTTP request runs inside MikroORM's `RequestContext` with a fresh fork, so
 * the controller, its services, guards and middleware all get the same Session, and two requests
 * never share one. A transaction still open when the handler has answered is rolled back (and
 * logged), also when the client disconnected early: then only once the handler is done.
 *
 * `await app.register(registerSessionPerRequest, { orm: container.get(MikroORM) })`, before the routes.
 */
export const registerSessionPerRequest = fastifyPlugin(sessionPerRequest, {
  fastify: '5.x',
  name: 'inversify-mikro-orm/session-per-request',
});
