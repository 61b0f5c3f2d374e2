import type { Options } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import dotenv from 'dotenv';
import type { Pool } from 'pg';
import {
  applyPoolOverrides,
  connectionOverrideProblems,
  type IntegerSpec,
  lifecycleOverrideProblems,
} from './config-overrides.js';
import { describeEndpoint, parseConnectionUrl } from './connection-url.js';
import type { LocalDatabaseServer } from './database-server.js';
import { InversifyMikroOrmError } from './errors.js';
import { migrationSettingsProblems } from './migrations.js';
import { type PoolSettings, supervisePool } from './pool.js';
import { ReadYourWritesEntityManager } from './read-your-writes.js';
import { parseReplicaUrls, REPLICA_URLS_VARIABLE, type ReplicaUrl, replicaOverrideProblems } from './replica-config.js';
import { DEFAULT_REPLICA_TIMEOUT_MS, type ReplicaOptions } from './replica-connection.js';
import { ResilientPostgreSqlDriver } from './resilient-driver.js';

/** Settings of this library that MikroORM itself has no place for. */
export interface LifecycleSettings {
  /** `AppLifecycle.start()` retries connecting until this deadline (a cold Neon branch, a booting server). */
  connectTimeoutMs: number;
  /** A Session holding a connection (open transaction) longer than this is logged as a leak. */
  leakWarnMs: number;
  /** Each stop hook, and `orm.close()`, must finish within this or is abandoned. */
  stopTimeoutMs: number;
  /** A read on a replica not answered within this is sent to the primary (the replica is taken for stalled). */
  replicaTimeoutMs: number;
  /**
   * `'safe'` adds tables and columns on start and never drops any; `'migrate'` applies the pending
   * migrations (`@mikro-orm/migrations`, from `migrations.path`); `'off'` leaves the schema alone.
   */
  schemaUpdate: 'safe' | 'off' | 'migrate';
  pool: PoolSettings;
  /**
   * A server this process runs itself, given as an override (what `inversify-mikro-orm/embedded`
   * does): then `DATABASE_URL` is not read. The core never starts one by itself.
   */
  embedded?: LocalDatabaseServer;
  /** `host:port/database`, for messages (never the password). */
  endpoint: string;
}

/** MikroORM options for PostgreSQL, plus this library's own settings under `lifecycle`. */
export type DatabaseConfig = Partial<Options<PostgreSqlDriver>> & { lifecycle: LifecycleSettings };

export type DatabaseConfigOverrides = Partial<Options<PostgreSqlDriver>> & {
  lifecycle?: Partial<Omit<LifecycleSettings, 'pool'>> & { pool?: Partial<PoolSettings> };
};

export type Environment = Record<string, string | undefined>;

export const DEFAULT_APPLICATION_NAME = 'inversify-mikro-orm';

/** How long a connection sits idle before the kernel starts probing its peer (pg's default is the OS's 2 hours). */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

const POOL_SETTINGS = {
  min: { variable: 'DB_POOL_MIN', fallback: 5, min: 0 },
  max: { variable: 'DB_POOL_MAX', fallback: 15, min: 1 },
  maxLifetimeSeconds: { variable: 'DB_POOL_MAX_LIFETIME_S', fallback: 300, min: 0 },
  validateAfterIdleMs: { variable: 'DB_POOL_VALIDATE_AFTER_IDLE_MS', fallback: 1000, min: 0 },
  validationTimeoutMs: { variable: 'DB_POOL_VALIDATION_TIMEOUT_MS', fallback: 2000, min: 1 },
  acquireTimeoutMs: { variable: 'DB_POOL_ACQUIRE_TIMEOUT_MS', fallback: 30000, min: 1 },
  idleTimeoutMs: { variable: 'DB_POOL_IDLE_TIMEOUT_MS', fallback: 10000, min: 0 },
} as const satisfies Record<keyof PoolSettings, IntegerSpec>;

const LIFECYCLE_INTEGERS = {
  connectTimeoutMs: { variable: 'DB_CONNECT_TIMEOUT_MS', fallback: 30000, min: 0 },
  leakWarnMs: { variable: 'DB_LEAK_WARN_MS', fallback: 10000, min: 1 },
  stopTimeoutMs: { variable: 'DB_STOP_TIMEOUT_MS', fallback: 10000, min: 1 },
  replicaTimeoutMs: { variable: 'DB_REPLICA_TIMEOUT_MS', fallback: DEFAULT_REPLICA_TIMEOUT_MS, min: 1 },
} as const satisfies Record<string, IntegerSpec>;

/** Collects every problem before throwing, so one run of the service reports all bad variables. */
class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Environment) {}

  integer({ variable, fallback, min }: IntegerSpec): number {
    const raw = this.env[variable]?.trim();
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min) {
      this.problems.push(`${variable} must be a whole number >= ${min} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  }

  boolean(variable: string, fallback: boolean): boolean {
    const raw = this.env[variable]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${variable} must be true or false (got "${this.env[variable]}")`);
    return fallback;
  }

  choice<T extends string>(variable: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[variable]?.trim();
    if (raw === undefined || raw === '') return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${variable} must be one of ${allowed.join(', ')} (got "${raw}")`);
    return fallback;
  }
}

function readIntegers<K extends string>(reader: EnvReader, specs: Record<K, IntegerSpec>): Record<K, number> {
  const entries = Object.entries<IntegerSpec>(specs).map(([key, spec]) => [key, reader.integer(spec)]);
  return Object.fromEntries(entries) as Record<K, number>;
}

/** `.env` fills gaps in the real environment, never overrides it (dotenv's own rule). */
function withDotenv(env: Environment): Environment {
  if (env !== process.env) return env;
  const fromFile = dotenv.config({ quiet: true, processEnv: {} }).parsed ?? {};
  return { ...fromFile, ...env };
}

export interface LoadDatabaseConfigOptions {
  /**
   * Reads every variable with this prefix, for a second database: `REPORTS_` reads
   * `REPORTS_DATABASE_URL`, `REPORTS_DB_POOL_MAX`, ... (`NODE_ENV` stays unprefixed).
   */
  prefix?: string;
}

function checkedPrefix(prefix: string): string {
  if (prefix !== '' && !/^[A-Z][A-Z0-9_]*_$/.test(prefix)) {
    throw new InversifyMikroOrmError(
      'config',
      `loadDatabaseConfig: prefix must be upper-case letters, digits and "_", ending with "_" (e.g. "REPORTS_"); got "${prefix}".`,
    );
  }
  return prefix;
}

/** The same settings under prefixed variable names, so every message names the variable really read. */
function prefixed<K extends string>(specs: Record<K, IntegerSpec>, prefix: string): Record<K, IntegerSpec> {
  const entries = Object.entries<IntegerSpec>(specs).map(([key, spec]) => [
    key,
    { ...spec, variable: `${prefix}${spec.variable}` },
  ]);
  return Object.fromEntries(entries) as Record<K, IntegerSpec>;
}

/**
 * Reads the database settings from the environment (and `.env`), validates them, and returns
 * MikroORM options for PostgreSQL with the pool defaults of the template. `overrides` win: MikroORM's
 * `pool` and `lifecycle.pool` set the pool settings, `clientUrl` replaces `DATABASE_URL`, and
 * `driverOptions`, `migrations` and `lifecycle` are merged one level deep; an override this library
 * would shadow is rejected. Throws one `InversifyMikroOrmError` (kind `config`) that names every bad setting.
 */
export function loadDatabaseConfig(
  overrides: DatabaseConfigOverrides = {},
  env: Environment = process.env,
  options: LoadDatabaseConfigOptions = {},
): DatabaseConfig {
  const prefix = checkedPrefix(options.prefix ?? '');
  const poolSpecs = prefixed(POOL_SETTINGS, prefix);
  const lifecycleSpecs = prefixed(LIFECYCLE_INTEGERS, prefix);
  const vars = withDotenv(env);
  const reader = new EnvReader(vars);
  const poolFromEnv = readIntegers(reader, poolSpecs);
  const ints = readIntegers(reader, lifecycleSpecs);
  const echo = reader.boolean(`${prefix}DB_ECHO`, false);
  const schemaUpdate = reader.choice(`${prefix}DB_SCHEMA_UPDATE`, ['safe', 'off', 'migrate'] as const, 'safe');
  const createDatabase = reader.boolean(`${prefix}DB_CREATE_DATABASE`, false);
  const connection = overridableConnection(vars, reader, overrides, prefix);
  const pool = applyPoolOverrides(poolFromEnv, poolSpecs, overrides, reader.problems);
  const replicaUrlsVariable = `${prefix}${REPLICA_URLS_VARIABLE}`;
  const replicaUrls = parseReplicaUrls(vars[replicaUrlsVariable], replicaUrlsVariable);
  const replicas = 'problems' in replicaUrls ? [] : replicaUrls.replicas;
  if ('problems' in replicaUrls) reader.problems.push(...replicaUrls.problems);
  const defaults: LifecycleSettings = {
    connectTimeoutMs: ints.connectTimeoutMs,
    leakWarnMs: ints.leakWarnMs,
    stopTimeoutMs: ints.stopTimeoutMs,
    replicaTimeoutMs: ints.replicaTimeoutMs,
    schemaUpdate,
    endpoint: connection.endpoint,
    embedded: connection.embedded,
    pool,
  };
  // The boot must never write files (MikroORM refreshes the migrations' schema snapshot after
  // running them by default): the snapshot belongs to `migration:create`, in the source tree.
  const migrations = { snapshotOnMigrate: false, ...overrides.migrations };
  reader.problems.push(
    ...lifecycleOverrideProblems(overrides, defaults, lifecycleSpecs),
    ...connectionOverrideProblems(overrides, poolSpecs, connection.embedded !== undefined),
    ...replicaOverrideProblems(overrides, {
      variable: replicaUrlsVariable,
      primaryVariable: `${prefix}DATABASE_URL`,
      count: replicas.length,
      embedded: connection.embedded !== undefined,
      readYourWrites: ReadYourWritesEntityManager,
    }),
  );
  if ((overrides.lifecycle?.schemaUpdate ?? schemaUpdate) === 'migrate') {
    const asked = overrides.lifecycle?.schemaUpdate
      ? "lifecycle.schemaUpdate: 'migrate'"
      : `${prefix}DB_SCHEMA_UPDATE=migrate`;
    reader.problems.push(...migrationSettingsProblems(migrations, overrides.baseDir, asked));
  }
  if (reader.problems.length > 0) {
    throw new InversifyMikroOrmError(
      'config',
      `Invalid database configuration:\n  - ${reader.problems.join('\n  - ')}\nFix these settings (environment variables, .env, or the overrides given to loadDatabaseConfig) and start again.`,
    );
  }

  const lifecycle: LifecycleSettings = { ...defaults, ...overrides.lifecycle, pool };
  const { onPoolCreated, ...userDriverOptions } = (overrides.driverOptions ?? {}) as Record<string, unknown>;
  // Each pool (the primary's, each replica's) gets its own supervisor, TLS from its own URL, and the application's options.
  const driverOptionsFor = (fromUrl: Record<string, unknown>) => ({
    application_name: DEFAULT_APPLICATION_NAME,
    ...fromUrl,
    ...poolDriverOptions(pool, onPoolCreated as PoolCreatedHook | undefined),
    ...userDriverOptions,
  });
  const driverOptions = driverOptionsFor(connection.driverOptions);
  const {
    lifecycle: _lifecycle,
    driverOptions: _driverOptions,
    clientUrl: _clientUrl,
    pool: _pool,
    migrations: _migrations,
    ...rest
  } = overrides;
  return {
    driver: ResilientPostgreSqlDriver,
    clientUrl: connection.clientUrl,
    dbName: connection.dbName,
    pool: { min: pool.min, max: pool.max, idleTimeoutMillis: pool.idleTimeoutMs },
    debug: echo ? ['query'] : false,
    // MikroORM creates a missing database by default: a typo in its name would go unnoticed.
    ensureDatabase: createDatabase,
    // With replicas, a Session must remember that it wrote, to read its writes back from the primary.
    ...(replicas.length > 0 && {
      replicas: replicas.map((replica) => replicaOptions(replica, lifecycle.replicaTimeoutMs, driverOptionsFor)),
      entityManager: ReadYourWritesEntityManager,
    }),
    ...rest,
    migrations,
    driverOptions: lifecycle.embedded ? lifecycle.embedded.driverOptions(driverOptions) : driverOptions,
    lifecycle,
  };
}

type PoolCreatedHook = (pool: Pool) => unknown;

/** MikroORM's options for one replica: the URL says where (with its own credentials and TLS), the pool is the primary's twin. */
function replicaOptions(
  replica: ReplicaUrl,
  replicaTimeoutMs: number,
  driverOptionsFor: (fromUrl: Record<string, unknown>) => Record<string, unknown>,
): ReplicaOptions {
  return {
    name: replica.name,
    endpoint: replica.endpoint,
    clientUrl: replica.url.clientUrl,
    replicaTimeoutMs,
    driverOptions: driverOptionsFor(replica.url.driverOptions),
  };
}

/**
 * Everything MikroORM 7 does not forward from `pool` to `pg.Pool` goes through `driverOptions`,
 * and `onPoolCreated` adds what `pg-pool` has no option for (before the application's own hook).
 */
function poolDriverOptions(pool: PoolSettings, userHook: PoolCreatedHook | undefined): Record<string, unknown> {
  return {
    min: pool.min,
    max: pool.max,
    idleTimeoutMillis: pool.idleTimeoutMs,
    maxLifetimeSeconds: pool.maxLifetimeSeconds,
    connectionTimeoutMillis: pool.acquireTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    onPoolCreated: (created: Pool) => {
      supervisePool(created, pool);
      return userHook?.(created);
    },
  };
}

/** `clientUrl` replaces `DATABASE_URL` (validated the same way); `host`, `port` and `dbName` win over either. */
function overridableConnection(
  vars: Environment,
  reader: EnvReader,
  overrides: DatabaseConfigOverrides,
  prefix: string,
): ResolvedConnection {
  const at = { host: overrides.host, port: overrides.port, dbName: overrides.dbName };
  const local = overrides.lifecycle?.embedded;
  if (local) {
    if (overrides.clientUrl !== undefined) {
      reader.problems.push('clientUrl has no effect on the embedded PostgreSQL; leave out one or the other');
    }
    return localConnection(local);
  }
  if (overrides.clientUrl === undefined) return resolveConnection(vars, reader, at, prefix);
  if (typeof overrides.clientUrl !== 'string') {
    reader.problems.push(`clientUrl must be a string (got ${typeof overrides.clientUrl})`);
    return { endpoint: 'unknown', driverOptions: {} };
  }
  return urlConnection(overrides.clientUrl.trim(), 'clientUrl', reader, at);
}

interface ResolvedConnection {
  clientUrl?: string;
  dbName?: string;
  endpoint: string;
  driverOptions: Record<string, unknown>;
  embedded?: LocalDatabaseServer;
}

/** Overrides of MikroORM that win over the URL's parts: errors must name where we really connect. */
interface EndpointOverrides {
  host?: string;
  port?: number;
  dbName?: string;
}

function urlConnection(rawUrl: string, variable: string, reader: EnvReader, at: EndpointOverrides): ResolvedConnection {
  const parsed = parseConnectionUrl(rawUrl, variable);
  if ('problems' in parsed) {
    reader.problems.push(...parsed.problems);
    return { endpoint: 'unknown', driverOptions: {} };
  }
  const { url } = parsed;
  return {
    clientUrl: url.clientUrl,
    endpoint: describeEndpoint(at.host ?? url.host, at.port ?? url.port, at.dbName ?? url.database),
    driverOptions: url.driverOptions,
  };
}

function resolveConnection(
  vars: Environment,
  reader: EnvReader,
  at: EndpointOverrides,
  prefix: string,
): ResolvedConnection {
  const variable = `${prefix}DATABASE_URL`;
  const rawUrl = vars[variable]?.trim();
  if (rawUrl) return urlConnection(rawUrl, variable, reader, at);
  // Never a silent local database: a deployment that forgot DATABASE_URL must not run on a throwaway one.
  reader.problems.push(
    `${variable} is not set (expected postgresql://user:password@host:5432/database). For development without a server, ask for the embedded PostgreSQL explicitly with inversify-mikro-orm/embedded`,
  );
  return { endpoint: 'unknown', driverOptions: {} };
}

function localConnection(local: LocalDatabaseServer): ResolvedConnection {
  const { dataDir, database } = local.options;
  return {
    // MikroORM needs a URL to build its platform; the real host and port arrive when the server starts.
    clientUrl: `postgresql://postgres@127.0.0.1/${encodeURIComponent(database)}`,
    dbName: database,
    endpoint: `embedded PostgreSQL (${dataDir})`,
    driverOptions: {},
    embedded: local,
  };
}
