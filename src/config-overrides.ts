import type { PoolConfig } from '@mikro-orm/core';
import type { PoolSettings } from './pool.js';

/**
 * Every key of the overrides given to `loadDatabaseConfig` either reaches the live pool and ORM or
 * is rejected here, naming it: an override must never be shadowed by one of this library's own
 * defaults (MikroORM lets `driverOptions` win over `pool`, for one).
 */

/** How a whole-number setting is validated, and the environment variable it comes from. */
export interface IntegerSpec {
  variable: string;
  fallback: number;
  min: number;
}

/** The overrides this module checks, whatever their declared types (JavaScript callers pass anything). */
export interface CheckedOverrides {
  clientUrl?: unknown;
  host?: unknown;
  port?: unknown;
  dbName?: unknown;
  user?: unknown;
  password?: unknown;
  pool?: unknown;
  driverOptions?: unknown;
  lifecycle?: unknown;
}

/** MikroORM's own `pool` option: mapped onto the pool settings, so pg, the warm-up and the supervisor agree. */
const MIKRO_ORM_POOL_KEYS = {
  min: 'min',
  max: 'max',
  idleTimeoutMillis: 'idleTimeoutMs',
} as const satisfies Record<keyof PoolConfig, keyof PoolSettings>;

/** `pg.Pool` options the pool settings own: set here they would reach pg but not the warm-up or the supervisor. */
const POOL_OWNED_DRIVER_OPTIONS: Record<string, keyof PoolSettings> = {
  min: 'min',
  max: 'max',
  idleTimeoutMillis: 'idleTimeoutMs',
  maxLifetimeSeconds: 'maxLifetimeSeconds',
  connectionTimeoutMillis: 'acquireTimeoutMs',
};

/** `pg` options that say where to connect: that comes from the URL, which is validated, sets TLS and names errors. */
const ENDPOINT_DRIVER_OPTIONS = ['connectionString', 'host', 'port', 'database'];

/** The embedded server chooses its own port and credentials and sets them last. */
const EMBEDDED_OWNED_OPTIONS = ['host', 'port', 'dbName', 'user', 'password'];
const EMBEDDED_OWNED_DRIVER_OPTIONS = ['user', 'password'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isWholeNumber(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

/** An override of `key` must be an object of settings; `undefined` means "no override". */
function entriesOf(value: unknown, key: string, problems: string[]): Array<[string, unknown]> {
  if (value === undefined) return [];
  if (!isPlainObject(value)) {
    problems.push(`${key} must be an object (got ${typeof value})`);
    return [];
  }
  return Object.entries(value).filter(([, entry]) => entry !== undefined);
}

/**
 * The pool settings from the environment with MikroORM's `pool` and `lifecycle.pool` applied, each
 * value validated like its environment variable. Messages name where each value came from.
 */
export function applyPoolOverrides(
  fromEnv: PoolSettings,
  specs: Record<keyof PoolSettings, IntegerSpec>,
  overrides: CheckedOverrides,
  problems: string[],
): PoolSettings {
  const pool = { ...fromEnv };
  const source = Object.fromEntries(Object.entries(specs).map(([key, spec]) => [key, spec.variable])) as Record<
    keyof PoolSettings,
    string
  >;
  const apply = (setting: keyof PoolSettings, label: string, value: unknown) => {
    const { min } = specs[setting];
    if (!isWholeNumber(value, min)) {
      problems.push(`${label} must be a whole number >= ${min} (got ${JSON.stringify(value)})`);
    } else if (source[setting] !== specs[setting].variable && pool[setting] !== value) {
      problems.push(`${label} (${value}) contradicts ${source[setting]} (${pool[setting]}); set only one of them`);
    } else {
      pool[setting] = value;
      source[setting] = label;
    }
  };
  for (const [key, value] of entriesOf(overrides.pool, 'pool', problems)) {
    const setting = MIKRO_ORM_POOL_KEYS[key as keyof PoolConfig];
    if (setting) apply(setting, `pool.${key}`, value);
    else
      problems.push(
        `pool.${key} is not supported: pool takes ${Object.keys(MIKRO_ORM_POOL_KEYS).join(', ')}; the other pool settings go in lifecycle.pool (${Object.keys(specs).join(', ')})`,
      );
  }
  const lifecycle = isPlainObject(overrides.lifecycle) ? overrides.lifecycle : {};
  for (const [key, value] of entriesOf(lifecycle.pool, 'lifecycle.pool', problems)) {
    if (key in specs) apply(key as keyof PoolSettings, `lifecycle.pool.${key}`, value);
    else
      problems.push(`lifecycle.pool.${key} is not a pool setting (expected one of ${Object.keys(specs).join(', ')})`);
  }
  if (pool.min > pool.max) {
    problems.push(`${source.min} (${pool.min}) must not be greater than ${source.max} (${pool.max})`);
  }
  return pool;
}

/**
 * Checks `lifecycle` against the settings it overrides (`defaults`): unknown keys are rejected, and
 * whole-number settings and `schemaUpdate` are validated like their environment variables.
 */
export function lifecycleOverrideProblems(
  overrides: CheckedOverrides,
  defaults: object,
  specs: Record<string, IntegerSpec>,
): string[] {
  const problems: string[] = [];
  for (const [key, value] of entriesOf(overrides.lifecycle, 'lifecycle', problems)) {
    if (key === 'pool') continue;
    const spec = specs[key];
    if (!(key in defaults)) {
      problems.push(
        `lifecycle.${key} is not a lifecycle setting (expected one of ${Object.keys(defaults).join(', ')})`,
      );
    } else if (spec && !isWholeNumber(value, spec.min)) {
      problems.push(`lifecycle.${key} must be a whole number >= ${spec.min} (got ${JSON.stringify(value)})`);
    } else if (key === 'schemaUpdate' && value !== 'safe' && value !== 'off' && value !== 'migrate') {
      problems.push(`lifecycle.schemaUpdate must be safe, off or migrate (got ${JSON.stringify(value)})`);
    }
  }
  return problems;
}

/**
 * Checks `driverOptions` (merged into the `pg.Pool` options) and the connection options against
 * what this library sets itself: the pool settings, the URL, and the embedded server's endpoint.
 */
export function connectionOverrideProblems(
  overrides: CheckedOverrides,
  poolSpecs: Record<keyof PoolSettings, IntegerSpec>,
  embedded: boolean,
): string[] {
  const problems: string[] = [];
  const { driverOptions } = overrides;
  if (driverOptions !== undefined && !isPlainObject(driverOptions)) {
    problems.push(
      'driverOptions must be a plain object of pg.Pool options (a function, a Kysely instance or a dialect would replace the pool this library supervises)',
    );
  }
  for (const [key, value] of isPlainObject(driverOptions) ? Object.entries(driverOptions) : []) {
    const setting = POOL_OWNED_DRIVER_OPTIONS[key];
    if (setting) {
      problems.push(
        `driverOptions.${key} is set through lifecycle.pool.${setting} (or ${poolSpecs[setting].variable}), so that the warm-up and the pool supervisor use it too`,
      );
    } else if (ENDPOINT_DRIVER_OPTIONS.includes(key)) {
      problems.push(`driverOptions.${key} is not supported: say where to connect with clientUrl (or DATABASE_URL)`);
    } else if (embedded && EMBEDDED_OWNED_DRIVER_OPTIONS.includes(key)) {
      problems.push(
        `driverOptions.${key} has no effect on the embedded PostgreSQL; set DATABASE_URL to use another server`,
      );
    } else if (key === 'onPoolCreated' && typeof value !== 'function') {
      problems.push(`driverOptions.onPoolCreated must be a function (got ${typeof value})`);
    }
  }
  if (embedded) {
    for (const key of EMBEDDED_OWNED_OPTIONS.filter(
      (option) => overrides[option as keyof CheckedOverrides] !== undefined,
    )) {
      problems.push(
        `${key} has no effect on the embedded PostgreSQL (it chooses its own port and credentials); set DATABASE_URL or clientUrl to use another server`,
      );
    }
  }
  return problems;
}
