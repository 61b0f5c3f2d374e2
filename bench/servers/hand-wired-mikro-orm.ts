import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import Fastify from 'fastify';
import type { Session } from 'inversify-mikro-orm';
import { notFound } from '../../src/app/api-error.js';
import { loadAppDatabaseConfig } from '../../src/app/database-config.js';
import { sendError } from '../../src/app/http-error-filter.js';
import { applyResponseSchemas } from '../../src/app/response-schemas.js';
import { BODY_LIMIT_BYTES } from '../../src/app/server.js';
import { TaskService } from '../../src/app/task.service.js';
import { parseCreateTask, parseTaskId } from '../../src/app/task-input.js';
import { toTaskView } from '../../src/app/task-view.js';
import { addMemoryRoute } from './memory-route.js';
import { serverSettings } from './server-env.js';

/**
 * Server (b): the Tasks API's GET /tasks/:id and POST /tasks hand-wired on bare Fastify and
 * MikroORM's RequestContext, with no Inversify. Everything else is the app's own: the same ORM
 * configuration (pool of DB_POOL_MAX, supervised), the same TaskService code (constructed by
 * hand), input parsing, response schemas and error mapping. So (a)/(b) measures exactly the
 * container, the HTTP adapter and the session-per-request hook.
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
// MikroORM's documented Fastify integration: one fork per request, found through AsyncLocalStorage.
app.addHook('onRequest', (_request, _reply, done) => RequestContext.create(orm.em, done));
applyResponseSchemas(app);
app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
app.setNotFoundHandler((request, reply) =>
  sendError(notFound(`no route for ${request.method} ${request.url}`), request, reply),
);

const session = () => RequestContext.getEntityManager() as Session;

app.get<{ Params: { id: string } }>('/tasks/:id', (request) =>
  new TaskService(session()).view(parseTaskId(request.params.id)),
);

app.post('/tasks', async (request, reply) => {
  const em = session();
  const task = new TaskService(em).create(parseCreateTask(request.body));
  await em.flush();
  return reply.code(201).header('location', `/tasks/${task.id}`).send(toTaskView(task));
});

// The memory benchmark compares this server's growth with the Tasks API's (not in the HTTP runs).
if (process.env.BENCH_MEMORY_ROUTE === '1') addMemoryRoute(app);

app.addHook('onClose', () => orm.close());
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ port: settings.port, host: settings.host });
