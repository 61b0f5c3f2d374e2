import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import type { EntityRepository } from '@mikro-orm/postgresql';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Container, inject, injectable } from 'inversify';
import { databaseModule, loadDatabaseConfig, repositoryOf, Session } from 'inversify-mikro-orm';
import { pino } from 'pino';
import { prepareGracefulDrain } from '../src/app/graceful-drain.js';
import { sendError } from '../src/app/http-error-filter.js';
import { applyResponseSchemas } from '../src/app/response-schemas.js';
import { buildServer } from '../src/app/server.js';
import { type Task, TaskSchema } from '../src/app/task.entity.js';
import { TaskService } from '../src/app/task.service.js';
import type { CreateTaskInput } from '../src/app/task-input.js';
import { parseCreateTask, parseTaskId } from '../src/app/task-input.js';
import type { TaskView } from '../src/app/task-view.js';
import { TASKS_PATH } from '../src/app/tasks.controller.js';
import { tasksModule } from '../src/app/tasks-module.js';
import { acceptUtf8JsonOnly } from '../src/app/utf8-json-body.js';
import { runJsonChild } from './child.js';
import { median, round } from './stats.js';

/**
 * `npm run bench:overhead [-- requests rounds]`: what the container, the HTTP adapter and the
 * binding's per-request hooks cost, without the database or the network. Servers (a) and (b) are
 * built as the bench servers build them, with a TaskService whose use cases answer at once (the
 * same injections: the request's repository and Session), each in a process of its own, and
 * served with Fastify's `inject()` after a warm-up; the figure is CPU time per request, A B B A
 * ..., median over rounds.
 */
const [first, second] = process.argv.slice(2);
/** Set in a child process: the one server it measures. */
const child = first === 'a' || first === 'b' ? first : undefined;
const requests = Number((child ? second : first) ?? 20_000);
const rounds = Number((child ? undefined : second) ?? 7);

const VIEW: TaskView = { id: 1, title: 'task', done: false, createdAt: new Date(0), updatedAt: new Date(0) };

/** TaskService's injections, no database work. Inversify does not inherit constructor injections. */
@injectable()
class InstantTaskService extends TaskService {
  constructor(@inject(repositoryOf(TaskSchema)) repository: EntityRepository<Task>, @inject(Session) session: Session) {
    super(repository, session);
  }

  override async get(id: number): Promise<TaskView> {
    return { ...VIEW, id };
  }

  override async create(input: CreateTaskInput): Promise<TaskView> {
    return { ...VIEW, title: input.title };
  }
}

const log: FastifyBaseLogger = pino({ level: 'warn' });
// MikroORM connects lazily: forking a Session and getting a repository touch no database.
const config = loadDatabaseConfig(
  { entities: [TaskSchema] },
  { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', DB_SCHEMA_UPDATE: 'off' },
);

async function ours(): Promise<FastifyInstance> {
  const container = new Container();
  container.load(databaseModule(config), tasksModule);
  container.rebind(TaskService).to(InstantTaskService).inTransientScope();
  return buildServer(container, { logger: log });
}

/** Server (b)'s wiring (bench/servers/hand-wired-mikro-orm.ts). */
async function handWired(): Promise<FastifyInstance> {
  const orm = new MikroORM({ ...config, lifecycle: undefined } as never);
  const app = Fastify({ loggerInstance: log, bodyLimit: 16 * 1024, return503OnClosing: true });
  acceptUtf8JsonOnly(app);
  prepareGracefulDrain(app);
  app.addHook('onRequest', (_request, _reply, done) => RequestContext.create(orm.em, done));
  applyResponseSchemas(app);
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  const service = () => {
    const session = RequestContext.getEntityManager() as Session;
    return new InstantTaskService(session.getRepository(TaskSchema), session);
  };
  app.get<{ Params: { id: string } }>(`${TASKS_PATH}/:id`, (request) => service().get(parseTaskId(request.params.id)));
  app.post(TASKS_PATH, async (request, reply) => {
    const task = await service().create(parseCreateTask(request.body));
    return reply.code(201).header('location', `${TASKS_PATH}/${task.id}`).send(task);
  });
  return app;
}

const calls = {
  'GET /tasks/:id': { method: 'GET', url: '/tasks/1' },
  'POST /tasks': {
    method: 'POST',
    url: '/tasks',
    headers: { 'content-type': 'application/json' },
    payload: '{"title":"t"}',
  },
} as const;

async function cpuPerRequest(app: FastifyInstance, call: (typeof calls)[keyof typeof calls]): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const response = await app.inject(call);
    if (response.statusCode >= 300)
      throw new Error(`${call.method} ${call.url}: ${response.statusCode} ${response.body}`);
  }
  const used = process.cpuUsage(started);
  return ((used.user + used.system) / requests) * 1000;
}

type Figures = Record<keyof typeof calls, number>;

/** A child: one server, warmed up, then CPU ns per request on each endpoint. */
async function measure(kind: 'a' | 'b'): Promise<Figures> {
  const app = kind === 'a' ? await ours() : await handWired();
  await app.ready();
  const figures = {} as Figures;
  for (const [name, call] of Object.entries(calls) as Array<[keyof typeof calls, (typeof calls)[keyof typeof calls]]>) {
    await cpuPerRequest(app, call);
    figures[name] = await cpuPerRequest(app, call);
  }
  await app.close();
  return figures;
}

if (child) {
  process.stdout.write(`${JSON.stringify(await measure(child))}\n`);
} else {
  // Each server in processes of its own: in one process, the two would share the JIT's type
  // feedback for Fastify's and Node's code, and each would slow the other down.
  const script = fileURLToPath(import.meta.url);
  const samples = { a: [] as Figures[], b: [] as Figures[] };
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
      samples[side].push(await runJsonChild<Figures>(script, [side, String(requests)]));
    }
  }
  const figures = Object.fromEntries(
    (Object.keys(calls) as Array<keyof typeof calls>).map((name) => {
      const a = samples.a.map((f) => f[name]);
      const b = samples.b.map((f) => f[name]);
      return [
        name,
        {
          aNs: round(median(a), 0),
          bNs: round(median(b), 0),
          differenceNs: round(median(a.map((value, i) => value - (b[i] as number))), 0),
        },
      ];
    }),
  );
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
