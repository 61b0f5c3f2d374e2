import { InversifyMikroOrmError } from 'inversify-mikro-orm';

export interface ServiceSettings {
  port: number;
  host: string;
  logLevel: string;
  /** How long in-flight requests may take to finish after SIGTERM before connections are cut. */
  shutdownTimeoutMs: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The HTTP side's environment (the database side is `loadDatabaseConfig`). One error lists every bad variable. */
export function readServiceSettings(env: Record<string, string | undefined>): ServiceSettings {
  const problems: string[] = [];
  const integer = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max) {
      problems.push(`${name} must be a whole number from 0 to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };
  const settings = {
    port: integer('PORT', 3000, 65535),
    host: env.HOST?.trim() || '127.0.0.1',
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000),
  };
  if (!LOG_LEVELS.includes(settings.logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${settings.logLevel}")`);
  }
  if (problems.length > 0) {
    throw new InversifyMikroOrmError('config', `Invalid service configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return settings;
}
