import type { AnyEntity, EntitySchema } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule } from 'inversify-mikro-orm';
import { pino } from 'pino';
import { loadAppDatabaseConfig } from './database-config.js';
import { buildServer, closeGracefully } from './server.js';
import { readServiceSettings } from './service-settings.js';
import { stopOnSignals } from './signals.js';
import { tasksModule } from './tasks-module.js';

export interface ServiceOptions {
  /** Entities besides Task. */
  extraEntities?: EntitySchema<AnyEntity>[];
  /** Development (`npm start`): without DATABASE_URL, run an embedded PostgreSQL instead of failing. */
  embeddedWithoutUrl?: boolean;
  /** Rebind services or controllers before anything is resolved. */
  configure?: (container: Container) => void;
  /** Add routes before the server listens. */
  extend?: (app: FastifyInstance) => void;
}

/**
 * The Tasks API process: `npm start` runs it as is; the benchmarks' variants (200 entities, a
 * memory probe, an optimization undone) run it with options, so both share one wiring.
 */
export async function runService(options: ServiceOptions = {}): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL?.trim() || 'info' });
  try {
    const settings = readServiceSettings(process.env);
    const database = loadAppDatabaseConfig(options, log);
    const container = new Container();
    // DB_ECHO=true: MikroORM's query log ("[query] select ... [took 2 ms]") goes into the service log.
    container.load(databaseModule({ ...database, colors: false, logger: (message) => log.info(message) }), tasksModule);
    options.configure?.(container);
    const lifecycle = container.get(AppLifecycle).useLogger(log);
    stopOnSignals(lifecycle, log);
    await lifecycle.start({ container });
    const app = await buildServer(container, { logger: log });
    options.extend?.(app);
    // The lifecycle's own bound is a backstop; closeGracefully cuts connections at the drain timeout.
    lifecycle.onStop('http server', () => closeGracefully(app, settings.shutdownTimeoutMs), {
      timeoutMs: settings.shutdownTimeoutMs + 1000,
    });
    await app.listen({ port: settings.port, host: settings.host });
  } catch (error) {
    log.fatal({ err: error }, 'The service could not start');
    process.exit(1);
  }
}
