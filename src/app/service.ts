import { Container } from 'inversify';
import { AppLifecycle, databaseModule, isInversifyMikroOrmError, type Logger } from 'inversify-mikro-orm';
import { pino } from 'pino';
import { loadAppDatabaseConfig } from './database-config.js';
import { closeGracefullyOnStop } from './graceful-drain.js';
import { buildServer } from './server.js';
import { readServiceSettings } from './service-settings.js';
import { stopOnSignals } from './signals.js';
import { tasksModule } from './tasks-module.js';

export interface ServiceOptions {
  /** Development (`npm start`): without DATABASE_URL, run an embedded PostgreSQL instead of failing. */
  embeddedWithoutUrl?: boolean;
}

/** The Tasks API process: main.ts (deployed) and dev.ts (`npm start`) run it. */
export async function runService(options: ServiceOptions = {}): Promise<void> {
  // Until LOG_LEVEL is validated (pino throws on an unknown level), a failure is logged at info.
  let log = pino({ level: 'info' });
  try {
    const settings = readServiceSettings(process.env);
    log = pino({ level: settings.logLevel });
    const database = loadAppDatabaseConfig(options, log);
    const container = new Container();
    // DB_ECHO=true: MikroORM's query log ("[query] select ... [took 2 ms]") goes into the service log.
    container.load(databaseModule({ ...database, colors: false, logger: (message) => log.info(message) }), tasksModule);
    const lifecycle = container.get(AppLifecycle).useLogger(log);
    stopOnSignals(lifecycle, log);
    if (!(await startUnlessStopped(lifecycle, container, log))) return;
    const app = await buildServer(container, { logger: log });
    closeGracefullyOnStop(lifecycle, app, settings);
    await app.listen({ port: settings.port, host: settings.host });
  } catch (error) {
    log.fatal({ err: error }, 'The service could not start');
    process.exit(1);
  }
}

/**
 * Starts the lifecycle; false when a signal stopped it during the boot. The signal's handler then
 * exits (0: the stop it asked for is done), so this only waits for that stop to finish.
 */
async function startUnlessStopped(lifecycle: AppLifecycle, container: Container, log: Logger): Promise<boolean> {
  try {
    await lifecycle.start({ container });
    return true;
  } catch (error) {
    if (!isInversifyMikroOrmError(error, 'lifecycle')) throw error;
    log.info({ reason: error.message }, 'The service was stopped while starting; it never became ready');
    await lifecycle.stop();
    return false;
  }
}
