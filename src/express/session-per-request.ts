import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpSessions, type SessionDatabases } from '../http-sessions.js';
import { stderrLogger } from '../logger.js';
import type { SessionLogger } from '../session-release.js';

export interface ExpressSessionOptions {
  /** Where a transaction left open at the end of a request is reported; stderr by default. */
  log?: SessionLogger;
}

/** An Express (connect-style) middleware: typed on `node:http` so the entry needs no Express types. */
export type SessionMiddleware = (
  request: IncomingMessage & { originalUrl?: string },
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Express 5 middleware (also behind `@inversifyjs/http-express`): each request runs inside
 * MikroORM's `RequestContext` with a fresh fork per database (all bound in the container, or the
 * given ORM's), so middleware, guards, the controller and its services share one Session, and two
 * requests never share one. A transaction still open when the handler has answered is rolled back
 * (and logged), also when the client disconnected early: then only once the handler is done.
 *
 * Register it before the routes, after the body parsers (the order MikroORM recommends for its own
 * `RequestContext` middleware: a parser resumes the request from stream callbacks).
 */
export function sessionPerRequest(databases: SessionDatabases, options: ExpressSessionOptions = {}): SessionMiddleware {
  const sessions = new HttpSessions(databases);
  const log = options.log ?? stderrLogger;
  return (request, response, next) =>
    sessions.run(response, log, () => `${request.method} ${request.originalUrl ?? request.url}`, next);
}
