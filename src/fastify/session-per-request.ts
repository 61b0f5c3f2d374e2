import type { FastifyPluginCallback } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Container } from 'inversify';
import { HttpSessions } from '../http-sessions.js';
import type { Orm } from '../orm.js';

/** Every database bound in `container` (the usual choice), or the one database of `orm`. */
export type SessionPerRequestOptions = { container: Container } | { orm: Orm };

const sessionPerRequest: FastifyPluginCallback<SessionPerRequestOptions> = (fastify, options, done) => {
  const sessions = new HttpSessions('container' in options ? options.container : options.orm);
  fastify.addHook('onRequest', (request, reply, next) => {
    // Calling `next` inside keeps the whole rest of Fastify's chain in the request's unit of work.
    sessions.run(reply.raw, request.log, () => `${request.method} ${request.url}`, next);
  });
  // What this plugin opened is the rollbacks of requests that left a transaction open: let them finish.
  fastify.addHook('onClose', (_instance, next) => {
    sessions.settled().then(() => next(), next);
  });
  done();
};

/**
 * A Fastify plugin: each HTTP request runs inside MikroORM's `RequestContext` with a fresh fork per
 * database, so the controller, its services, guards and middleware all get the same Sessions, and
 * two requests never share one. A transaction still open when the handler has answered is rolled
 * back (and logged), also when the client disconnected early: then only once the handler is done.
 *
 * `await app.register(registerSessionPerRequest, { container })`, before the routes.
 */
export const registerSessionPerRequest = fastifyPlugin(sessionPerRequest, {
  fastify: '5.x',
  name: 'inversify-mikro-orm/session-per-request',
});
