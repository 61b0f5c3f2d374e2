import { InversifyFastifyHttpAdapter } from '@inversifyjs/http-fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Container } from 'inversify';
import { registerSessionPerRequest } from 'inversify-mikro-orm/fastify';
import { Registry } from 'prom-client';
import { notFound } from './api-error.js';
import { prepareGracefulDrain } from './graceful-drain.js';
import { HttpErrorFilter, sendError } from './http-error-filter.js';
import { applyResponseSchemas } from './response-schemas.js';
import { acceptUtf8JsonOnly } from './utf8-json-body.js';

/** Far above any valid Task (a 200-character title); larger bodies are refused with 413 unread. */
export const BODY_LIMIT_BYTES = 16 * 1024;

export interface ServerOptions {
  logger: FastifyBaseLogger;
}

/**
 * Builds the HTTP server from a container that holds `databaseModule` and the app's controllers.
 * Each request runs in its own unit of work; every error is a JSON `{ error, message }`.
 */
export async function buildServer(container: Container, { logger }: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
  });
  acceptUtf8JsonOnly(app);
  prepareGracefulDrain(app);
  await app.register(registerSessionPerRequest, { container });
  // Now, not at the first scrape: the acquire wait histogram observes from registration on.
  container.get(Registry);
  applyResponseSchemas(app);
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(notFound(`no route for ${request.method} ${request.url}`), request, reply),
  );

  const adapter = new InversifyFastifyHttpAdapter(container, { logger: adapterLogger(logger) }, app);
  adapter.useGlobalFilters(HttpErrorFilter);
  await adapter.build();
  return app;
}

/** The adapter logs through its own interface; route it into pino at quiet levels. */
function adapterLogger(logger: FastifyBaseLogger) {
  const debug = (message: unknown) => logger.debug(String(message));
  return {
    log: debug,
    info: debug,
    http: debug,
    verbose: debug,
    debug,
    silly: debug,
    warn: (message: unknown) => logger.warn(String(message)),
    error: (message: unknown) => logger.error(String(message)),
  };
}
