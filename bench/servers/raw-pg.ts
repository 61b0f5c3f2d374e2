import Fastify from 'fastify';
import pg from 'pg';
import { notFound } from '../../src/app/api-error.js';
import { sendError } from '../../src/app/http-error-filter.js';
import { applyResponseSchemas } from '../../src/app/response-schemas.js';
import { BODY_LIMIT_BYTES } from '../../src/app/server.js';
import { parseCreateTask, parseTaskId } from '../../src/app/task-input.js';
import { serverSettings } from './server-env.js';

/**
 * Server (c), the floor: the same two endpoints on bare Fastify and a plain `pg.Pool` of the same
 * size, sending the SQL MikroORM sends (read with `DB_ECHO=true`), with the same input parsing,
 * response schemas and error mapping. No ORM, no container: what is left is Fastify, pg and
 * PostgreSQL.
 */
const { settings, log } = serverSettings();
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('DATABASE_URL is required');
const poolMax = Number(process.env.DB_POOL_MAX || 15);
const pool = new pg.Pool({ connectionString: databaseUrl, max: poolMax, min: Math.min(5, poolMax) });

interface TaskRow {
  id: number;
  title: string;
  done: boolean;
  created_at: Date;
  updated_at: Date;
}

const SELECT_BY_ID = 'select "t0".* from "task" as "t0" where "t0"."id" = $1 limit 1';
const INSERT =
  'insert into "task" ("title", "done", "created_at", "updated_at") values ($1, $2, $3, $4) returning "id"';

const app = Fastify({
  loggerInstance: log,
  bodyLimit: BODY_LIMIT_BYTES,
  return503OnClosing: true,
  forceCloseConnections: 'idle',
});
applyResponseSchemas(app);
app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
app.setNotFoundHandler((request, reply) =>
  sendError(notFound(`no route for ${request.method} ${request.url}`), request, reply),
);

app.get<{ Params: { id: string } }>('/tasks/:id', async (request) => {
  const id = parseTaskId(request.params.id);
  const { rows } = await pool.query<TaskRow>(SELECT_BY_ID, [id]);
  const row = rows[0];
  if (!row) throw notFound(`task ${id} does not exist`);
  return { id: row.id, title: row.title, done: row.done, createdAt: row.created_at, updatedAt: row.updated_at };
});

app.post('/tasks', async (request, reply) => {
  const input = parseCreateTask(request.body);
  const now = new Date();
  const task = { id: 0, title: input.title, done: input.done ?? false, createdAt: now, updatedAt: now };
  // MikroORM wraps every flush in a transaction: begin, insert ... returning id, commit.
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: number }>(INSERT, [task.title, task.done, now, now]);
    await client.query('commit');
    task.id = rows[0]?.id as number;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return reply.code(201).header('location', `/tasks/${task.id}`).send(task);
});

app.addHook('onClose', () => pool.end());
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ port: settings.port, host: settings.host });
