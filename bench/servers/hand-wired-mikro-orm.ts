import 'reflect-metadata';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import Fastify from 'fastify';
import type { Session } from 'inversify-mikro-orm';
import { notFound } from '../../src/app/api-error.js';
import { loadAppDatabaseConfig } from '../../src/app/database-config.js';
import { prepareGracefulDrain } from '../../src/app/graceful-drain.js';
import { sendError } from '../../src/app/http-error-filter.js';
import { applyResponseSchemas } from '../../src/app/response-schemas.js';
import { BODY_LIMIT_BYTES } from '../../src/app/server.js';
import { TaskSchema } from '../../src/app/task.entity.js';
import { TaskService } from '../../src/app/task.service.js';
import { parseCreateTask, parseTaskId } from '../../src/app/task-input.js';
import { TASKS_PATH } from '../../src/app/tasks.controller.js';
import { acceptUtf8JsonOnly } from '../../src/app/utf8-json-body.js';
import { addMemoryRoute } from './memory-route.js';
import { serverSettings } from './server-env.js';

/**
 * Server (b): the Tasks API's GET /tasks/:id and POST /tasks hand-wired on bare Fastify and
 * MikroORM's RequestContext, with no Inversify and no inversify-mikro-orm per-request hooks.
 * Everything else is the app's own: the same ORM configuration (pool of DB_POOL_MAX, supervised),
 * the same TaskService (built by hand on the request's fork: `findOne` through the repository,
 * `create` + `flush`), the same body parser, drain hooks, input parsing, response schemas and
 * error mapping. So (a)/(b) measures the container, the HTTP adapter and the binding's
 * per-request work (its session hook, its EntityManager and context resolver), nothing else.
 */
const { settings, log } = serverSettings();
const { lifecycle: _lifecycle, ...ormOptions } = loadAppDatabaseConfig({}, log);
const orm = new MikroORM(ormOptions);
await orm.connect();

const app = Fastify({
  loggerInstance: log,
  bodyLimit: BODY_LIMIT_BYTES,
  return503OnClosing: true,
  forceCloseConnections: 'idle',
});
acceptUtf8JsonOnly(app);
prepareGracefulDrain(app);
// MikroORM's documented Fastify integration: one fork per request, found through AsyncLocalStorage.
app.addHook('onRequest', (_request, _reply, done) => RequestContext.create(orm.em, done));
applyResponseSchemas(app);
app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
app.setNotFoundHandler((request, reply) =>
  sendError(notFound(`no route for ${request.method} ${request.url}`), request, reply),
);

/** What the container injects, built by hand: the request's fork and its Task repository. */
function taskService(): TaskService {
  const session = RequestContext.getEntityManager() as Session;
  return new TaskService(session.getRepository(TaskSchema), session);
}

app.get<{ Params: { id: string } }>(`${TASKS_PATH}/:id`, (request) =>
  taskService().get(parseTaskId(request.params.id)),
);

app.post(TASKS_PATH, async (request, reply) => {
  const task = await taskService().create(parseCreateTask(request.body));
  return reply.code(201).header('location', `${TASKS_PATH}/${task.id}`).send(task);
});

// The memory benchmark compares this server's growth with the Tasks API's (not in the HTTP runs).
if (process.env.BENCH_MEMORY_ROUTE === '1') addMemoryRoute(app);

app.addHook('onClose', () => orm.close());
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ port: settings.port, host: settings.host });
