import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import { Container } from 'inversify';
import { pino } from 'pino';
import { buildServer } from '../../src/app/server.js';
import { TaskSchema } from '../../src/app/task.entity.js';
import { tasksModule } from '../../src/app/tasks-module.js';
import { AppLifecycle, databaseModule, loadDatabaseConfig } from '../../src/index.js';

export interface TasksApp {
  app: FastifyInstance;
  container: Container;
  lifecycle: AppLifecycle;
  /** Everything the service logged, one parsed pino line each. */
  logs: Array<Record<string, unknown>>;
}

/**
 * The Tasks API in-process, wired as `main.ts` wires it, on the given environment (DATABASE_URL
 * and friends). `extend` can bind extra controllers or services before the server is built.
 */
export async function startTasksApp(
  env: Record<string, string>,
  extend: (container: Container) => void = () => undefined,
): Promise<TasksApp> {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [TaskSchema] }, env)), tasksModule);
  extend(container);
  const lifecycle = container.get(AppLifecycle).useLogger(logger);
  await lifecycle.start({ container });
  const app = await buildServer(container, { logger });
  lifecycle.onStop('http server', () => app.close());
  await app.ready();
  return { app, container, lifecycle, logs };
}
