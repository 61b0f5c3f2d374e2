import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { readServiceSettings, type ServiceSettings } from '../../src/app/service-settings.js';

/**
 * The comparison servers read the same environment as the Tasks API (PORT, HOST, LOG_LEVEL,
 * DATABASE_URL, DB_POOL_MAX) and log the same "Server listening at" line through pino, so the
 * runner starts and stops all three alike.
 */
export function serverSettings(): { settings: ServiceSettings; log: FastifyBaseLogger } {
  const settings = readServiceSettings(process.env);
  return { settings, log: pino({ level: settings.logLevel }) };
}
