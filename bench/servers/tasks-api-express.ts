import 'reflect-metadata';
import { once } from 'node:events';
import { CatchError } from '@inversifyjs/http-core';
import { type ExpressErrorFilter, InversifyExpressHttpAdapter } from '@inversifyjs/http-express';
import express, { type Request, type Response } from 'express';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule } from 'inversify-mikro-orm';
import { sessionPerRequest } from 'inversify-mikro-orm/express';
import { loadAppDatabaseConfig } from '../../src/app/database-config.js';
import { toErrorResponse } from '../../src/app/error-response.js';
import { BODY_LIMIT_BYTES } from '../../src/app/server.js';
import { stopOnSignals } from '../../src/app/signals.js';
import { tasksModule } from '../../src/app/tasks-module.js';
import { serverSettings } from './server-env.js';

/** The Tasks API's error mapping on Express: the same `{ error, message }` bodies and statuses. */
@CatchError()
class ExpressTasksErrorFilter implements ExpressErrorFilter<unknown> {
  catch(error: unknown, _request: Request, response: Response): void {
    const { status, headers, body } = toErrorResponse(error);
    response.status(status).set(headers).json(body);
  }
}

/**
 * Server (e): the binding on Express 5. The same container as the Tasks API (databaseModule with
 * the app's database config, tasksModule: TasksController and TaskService resolved per request),
 * `inversify-mikro-orm/express`'s `sessionPerRequest` after Express's JSON body parser, and
 * `@inversifyjs/http-express` instead of the Fastify adapter. Express with its defaults
 * (JSON.stringify, ETag): (e)/(a) is what moving the same service from Fastify to Express costs.
 */
const { settings, log } = serverSettings();
const container = new Container();
container.load(
  databaseModule({ ...loadAppDatabaseConfig({}, log), colors: false, logger: (message) => log.info(message) }),
  tasksModule,
);
container.bind(ExpressTasksErrorFilter).toSelf().inSingletonScope();
const lifecycle = container.get(AppLifecycle).useLogger(log);
stopOnSignals(lifecycle, log);
await lifecycle.start({ container });

const app = express();
app.use(express.json({ limit: BODY_LIMIT_BYTES }));
app.use(sessionPerRequest(container, { log }));
const adapter = new InversifyExpressHttpAdapter(container, { logger: false }, app);
adapter.useGlobalFilters(ExpressTasksErrorFilter);
await adapter.build();
const server = app.listen(settings.port, settings.host);
await once(server, 'listening');
lifecycle.onStop('http server', () => new Promise<void>((resolve) => server.close(() => resolve())));
log.info(`Server listening at http://${settings.host}:${settings.port}`);
