import type { Configuration } from '@mikro-orm/core';
import { causeChain } from './database-errors.js';
import { InversifyMikroOrmError } from './errors.js';

/** SQLSTATE invalid_catalog_name: the database named in the connection does not exist. */
const UNKNOWN_DATABASE = '3D000';
/**
 * PgBouncer (a pooled Neon URL too) relays the server's refusal of its own login as a pooler error,
 * SQLSTATE 08P01 with the server's message: there the message is all that tells (in English, the
 * language of PgBouncer's server logins unless the server's lc_messages says otherwise).
 */
const POOLER_ERROR = '08P01';
const POOLER_UNKNOWN_DATABASE = /^database ".*" does not exist$/;

function isMissingDatabaseLink(link: Record<string, unknown>): boolean {
  if (link.code === UNKNOWN_DATABASE) return true;
  return link.code === POOLER_ERROR && typeof link.message === 'string' && POOLER_UNKNOWN_DATABASE.test(link.message);
}

export function isMissingDatabaseError(error: unknown): boolean {
  return [...causeChain(error)].some(isMissingDatabaseLink);
}

/**
 * MikroORM creates a missing database by default (`ensureDatabase`), so a typo in its name would
 * silently give the service a new, empty one. This library asks for that explicitly instead.
 */
export function databaseCreationAllowed(config: Configuration): boolean {
  return Boolean(config.get('ensureDatabase'));
}

/**
 * The error for a database that does not exist: where it was looked for, and how to create it on
 * purpose. Never quotes the URL (it may hold a password).
 */
export function missingDatabaseError(config: Configuration, cause: unknown): InversifyMikroOrmError {
  const { host, port, database } = locate(config);
  return new InversifyMikroOrmError(
    'config',
    `PostgreSQL at ${host}:${port} has no database named "${database}" (nothing was created). Check the database name in DATABASE_URL; if it is new, create it: \`createdb -h ${host} -p ${port} ${database}\`, or start once with DB_CREATE_DATABASE=true to let the service create it.`,
    { cause },
  );
}

/**
 * The error for an explicit request to create a missing database (`orm.schema.ensureDatabase()`, which
 * the MikroORM CLI's `database:create` runs) while this configuration does not create databases.
 */
export function creationNotEnabledError(config: Configuration, error: unknown): InversifyMikroOrmError {
  const { host, port, database } = locate(config);
  // The server's own error, not `missingDatabaseError`'s "nothing was created" that may wrap it.
  const cause = [...causeChain(error)].find(isMissingDatabaseLink) ?? error;
  return new InversifyMikroOrmError(
    'config',
    `PostgreSQL at ${host}:${port} has no database named "${database}", and creating databases is not enabled in this configuration. Set DB_CREATE_DATABASE=true for this command to let it create the database (\`DB_CREATE_DATABASE=true npx mikro-orm database:create\`), or create it with \`createdb -h ${host} -p ${port} ${database}\`; if the name has a typo, fix DATABASE_URL instead.`,
    { cause },
  );
}

function locate(config: Configuration): { host: string; port: number; database: string } {
  const url = new URL(config.get('clientUrl') ?? 'postgresql://localhost');
  return {
    host: config.get('host') ?? (decodeURIComponent(url.hostname) || 'localhost'),
    port: config.get('port') ?? (Number(url.port) || 5432),
    database: config.get('dbName') ?? decodeURIComponent(url.pathname.replace(/^\//, '')),
  };
}
