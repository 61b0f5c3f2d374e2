import 'reflect-metadata';
import type { AnyEntity, EntitySchema } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule } from 'inversify-mikro-orm';
import { loadAppDatabaseConfig } from '../../src/app/database-config.js';
import { closeGracefullyOnStop } from '../../src/app/graceful-drain.js';
import { buildServer } from '../../src/app/server.js';
import { stopOnSignals } from '../../src/app/signals.js';
import { tasksModule } from '../../src/app/tasks-module.js';
import { serverSettings } from './server-env.js';

/** What a benchmark changes in the Tasks API; the app itself has no such options. */
export interface TasksApiVariant {
  /** Entities besides Task (the 200-entity boot). */
  extraEntities?: EntitySchema<AnyEntity>[];
  /** Rebinds services or controllers before anything is resolved (an optimization undone). */
  configure?: (container: Container) => void;
  /** Adds routes before the server listens (the memory probe). */
  extend?: (app: FastifyInstance) => void;
}

/**
 * The Tasks API assembled from the app's own pieces (its database config, `tasksModule`,
 * `buildServer`, the graceful drain, the signal handling) the way src/app/service.ts assembles
 * them, plus what the variant changes. The HTTP comparison runs dist/src/app/main.js itself.
 */
export async function runTasksApi(variant: TasksApiVariant = {}): Promise<void> {
  const { settings, log } = serverSettings();
  const database = loadAppDatabaseConfig({}, log);
  const entities = [...(database.entities ?? []), ...(variant.extraEntities ?? [])];
  const container = new Container();
  container.load(
    databaseModule({ ...database, entities, colors: false, logger: (message) => log.info(message) }),
    tasksModule,
  );
  variant.configure?.(container);
  const lifecycle = container.get(AppLifecycle).useLogger(log);
  stopOnSignals(lifecycle, log);
  await lifecycle.start({ container });
  const app = await buildServer(container, { logger: log });
  variant.extend?.(app);
  closeGracefullyOnStop(lifecycle, app, settings);
  await app.listen({ port: settings.port, host: settings.host });
}
