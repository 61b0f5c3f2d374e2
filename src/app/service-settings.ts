import { InversifyMikroOrmError } from 'inversify-mikro-orm';

export interface ServiceSettings {
  port: number;
  host: string;
  logLevel: string;
  /**
   * How long after SIGTERM the service goes on serving as usual, readiness already 503, before the
   * drain begins: the time a load balancer needs to take it out of rotation.
   */
  shutdownDelayMs: number;
  /** How long in-flight requests may take to finish after SIGTERM before connections are cut. */
  shutdownTimeoutMs: number;
  /** How long, after SIGTERM, a connection with no request in progress may still send one before it is closed. */
  shutdownGraceMs: number;
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
  const shutdownTimeoutMs = integer('SHUTDOWN_TIMEOUT_MS', 10_000);
  const settings = {
    port: integer('PORT', 3000, 65535),
    host: env.HOST?.trim() || '127.0.0.1',
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    shutdownDelayMs: integer('SHUTDOWN_DELAY_MS', 0),
    shutdownTimeoutMs,
    // The default never outlasts the timeout, which cuts every connection anyway.
    shutdownGraceMs: integer('SHUTDOWN_GRACE_MS', Math.min(500, shutdownTimeoutMs)),
  };
  if (settings.shutdownGraceMs > settings.shutdownTimeoutMs) {
    problems.push(
      `SHUTDOWN_GRACE_MS (${settings.shutdownGraceMs}) must not exceed SHUTDOWN_TIMEOUT_MS (${settings.shutdownTimeoutMs}), which cuts every connection`,
    );
  }
  if (!LOG_LEVELS.includes(settings.logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${settings.logLevel}")`);
  }
  if (problems.length > 0) {
    throw new InversifyMikroOrmError('config', `Invalid service configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return settings;
}
