import 'reflect-metadata';
import type { AnyEntity, EntitySchema } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Container } from 'inversify';
import { pino } from 'pino';
import { buildServer, closeGracefully } from '../../src/app/server.js';
import { readServiceSettings } from '../../src/app/service-settings.js';
import { stopOnSignals } from '../../src/app/signals.js';
import { TaskSchema } from '../../src/app/task.entity.js';
import { tasksModule } from '../../src/app/tasks-module.js';
import { AppLifecycle, databaseModule, loadDatabaseConfig } from '../../src/index.js';

export interface ServiceVariant {
  /** Entities besides Task. */
  extraEntities?: EntitySchema<AnyEntity>[];
  /** Rebind services or controllers before anything is resolved. */
  configure?: (container: Container) => void;
  /** Add bench-only routes before the server listens. */
  extend?: (app: FastifyInstance) => void;
}

/**
 * The Tasks API wired exactly as src/app/main.ts wires it, for the bench-only variants (200
 * entities, a memory probe, the optimizations undone). Keep in step with main.ts.
 */
export async function runService(variant: ServiceVariant = {}): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL?.trim() || 'info' });
  try {
    const settings = readServiceSettings(process.env);
    const database = loadDatabaseConfig({ entities: [TaskSchema, ...(variant.extraEntities ?? [])] });
    const container = new Container();
    container.load(databaseModule({ ...database, colors: false, logger: (message) => log.info(message) }), tasksModule);
    variant.configure?.(container);
    const lifecycle = container.get(AppLifecycle).useLogger(log);
    stopOnSignals(lifecycle, log);
    await lifecycle.start();
    const app = await buildServer(container, { logger: log });
    variant.extend?.(app);
    lifecycle.onStop('http server', () => closeGracefully(app, settings.shutdownTimeoutMs), {
      timeoutMs: settings.shutdownTimeoutMs + 1000,
    });
    await app.listen({ port: settings.port, host: settings.host });
  } catch (error) {
    log.fatal({ err: error }, 'The service could not start');
    process.exit(1);
  }
}
