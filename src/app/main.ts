import 'reflect-metadata';
import { Container } from 'inversify';
import { pino } from 'pino';
import { loadAppDatabaseConfig } from '../../mikro-orm.config.js';
import { AppLifecycle, databaseModule } from '../index.js';
import { buildServer, closeGracefully } from './server.js';
import { readServiceSettings } from './service-settings.js';
import { stopOnSignals } from './signals.js';
import { tasksModule } from './tasks-module.js';

/** `npm start`: the Tasks API on DATABASE_URL, or on the embedded PostgreSQL in development. */
async function main(): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL?.trim() || 'info' });
  try {
    const settings = readServiceSettings(process.env);
    const database = loadAppDatabaseConfig();
    const container = new Container();
    // DB_ECHO=true: MikroORM's query log ("[query] select ... [took 2 ms]") goes into the service log.
    container.load(databaseModule({ ...database, colors: false, logger: (message) => log.info(message) }), tasksModule);
    const lifecycle = container.get(AppLifecycle).useLogger(log);
    stopOnSignals(lifecycle, log);
    await lifecycle.start({ container });
    const app = await buildServer(container, { logger: log });
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

await main();
