import { describe, expect, it } from 'vitest';
import { type DatabaseConfigOverrides, InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';

const PASSWORD = 'S3cr3t-Pa55word';
const URL_WITH_PASSWORD = `postgresql://app:${PASSWORD}@db.example.com:6543/tasks`;

function configError(env: Record<string, string>): InversifyMikroOrmError {
  try {
    loadDatabaseConfig({}, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected loadDatabaseConfig to throw');
}

describe('loadDatabaseConfig', () => {
  it('maps the template pool defaults onto pg-pool options', () => {
    const config = loadDatabaseConfig({}, { DATABASE_URL: URL_WITH_PASSWORD });
    expect(config.driverOptions).toMatchObject({
      min: 5,
      max: 15,
      maxLifetimeSeconds: 300,
      connectionTimeoutMillis: 30000,
      idleTimeoutMillis: 10000,
      keepAlive: true,
      application_name: 'inversify-mikro-orm',
    });
    expect(config.driverOptions).not.toHaveProperty('validateAfterIdleMillis');
    expect(config.lifecycle.pool).toMatchObject({ validateAfterIdleMs: 1000, validationTimeoutMs: 2000 });
    expect(config.debug).toBe(false);
    expect(config.lifecycle).toMatchObject({ connectTimeoutMs: 30000, leakWarnMs: 10000, schemaUpdate: 'safe' });
    expect(config.lifecycle.endpoint).toBe('db.example.com:6543/tasks');
  });

  it('reads every pool variable from the environment', () => {
    const config = loadDatabaseConfig(
      {},
      {
        DATABASE_URL: URL_WITH_PASSWORD,
        DB_POOL_MIN: '2',
        DB_POOL_MAX: '7',
        DB_POOL_MAX_LIFETIME_S: '60',
        DB_POOL_VALIDATE_AFTER_IDLE_MS: '250',
        DB_POOL_ACQUIRE_TIMEOUT_MS: '1500',
        DB_POOL_IDLE_TIMEOUT_MS: '4000',
        DB_POOL_VALIDATION_TIMEOUT_MS: '700',
        DB_ECHO: 'true',
      },
    );
    expect(config.driverOptions).toMatchObject({
      min: 2,
      max: 7,
      maxLifetimeSeconds: 60,
      connectionTimeoutMillis: 1500,
      idleTimeoutMillis: 4000,
    });
    expect(config.lifecycle.pool).toMatchObject({ validateAfterIdleMs: 250, validationTimeoutMs: 700 });
    expect(config.debug).toEqual(['query']);
  });

  it('lets overrides win, merging driverOptions one level deep', () => {
    const config = loadDatabaseConfig(
      { driverOptions: { application_name: 'mine' }, lifecycle: { schemaUpdate: 'off', pool: { min: 2, max: 3 } } },
      { DATABASE_URL: URL_WITH_PASSWORD },
    );
    expect(config.driverOptions).toMatchObject({ application_name: 'mine', min: 2, max: 3 });
    expect(config.lifecycle.schemaUpdate).toBe('off');
    expect(config.lifecycle.pool.max).toBe(3);
  });

  it('names every bad variable in one error', () => {
    const error = configError({
      DATABASE_URL: URL_WITH_PASSWORD,
      DB_POOL_MIN: 'five',
      DB_POOL_MAX: '-1',
      DB_POOL_MAX_LIFETIME_S: '1.5',
      DB_POOL_ACQUIRE_TIMEOUT_MS: '0',
      DB_POOL_VALIDATION_TIMEOUT_MS: '0',
      DB_ECHO: 'maybe',
    });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('DB_POOL_MIN must be a whole number >= 0 (got "five")');
    expect(error.message).toContain('DB_POOL_MAX must be a whole number >= 1 (got "-1")');
    expect(error.message).toContain('DB_POOL_MAX_LIFETIME_S must be a whole number >= 0 (got "1.5")');
    expect(error.message).toContain('DB_POOL_ACQUIRE_TIMEOUT_MS must be a whole number >= 1 (got "0")');
    expect(error.message).toContain('DB_POOL_VALIDATION_TIMEOUT_MS must be a whole number >= 1 (got "0")');
    expect(error.message).toContain('DB_ECHO must be true or false (got "maybe")');
  });

  it('rejects a pool whose minimum exceeds its maximum', () => {
    const error = configError({ DATABASE_URL: URL_WITH_PASSWORD, DB_POOL_MIN: '20', DB_POOL_MAX: '10' });
    expect(error.message).toContain('DB_POOL_MIN (20) must not be greater than DB_POOL_MAX (10)');
  });

  it.each([
    ['not a url', 'DATABASE_URL is not a valid URL'],
    [`mysql://app:${PASSWORD}@host/db`, 'DATABASE_URL must start with postgresql:// or postgres://'],
    [`postgresql://app:${PASSWORD}@host:5432`, 'DATABASE_URL has no database name'],
    [`postgresql://app:${PASSWORD}@host/db?sslmode=sometimes`, 'DATABASE_URL has sslmode=sometimes'],
    [`postgresql://app:${PASSWORD}@host/db?channel_binding=always`, 'DATABASE_URL has channel_binding=always'],
    ['postgresql://u@h/db%zz', 'DATABASE_URL has a malformed %-escape in its database name'],
    [`postgresql://app:${PASSWORD}@host/db%zz`, 'DATABASE_URL has a malformed %-escape in its database name'],
    [`postgresql://app:${PASSWORD}%zz@host/db`, 'DATABASE_URL has a malformed %-escape in its password'],
    [`postgresql://ap%zzp:${PASSWORD}@host/db`, 'DATABASE_URL has a malformed %-escape in its user name'],
    [`postgresql://app:${PASSWORD}@ho%zzst/db`, 'DATABASE_URL has a malformed %-escape in its host'],
    [`postgresql://app:${PASSWORD}@host:99999/db`, 'DATABASE_URL is not a valid URL'],
    [`postgresql://app:${PASSWORD}@/db`, 'DATABASE_URL is not a valid URL'],
  ])('explains a malformed DATABASE_URL (%s) without echoing the password', (url, expected) => {
    const error = configError({ DATABASE_URL: url, DB_POOL_MIN: 'x' });
    expect(error.message).toContain(expected);
    expect(error.message).toContain('DB_POOL_MIN');
    expect(error.message).not.toContain(PASSWORD);
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
    expect(String(error.stack)).not.toContain(PASSWORD);
  });

  it.each([
    ['unset', {}],
    ['development', { NODE_ENV: 'development' }],
    ['test', { NODE_ENV: 'test' }],
    ['production', { NODE_ENV: 'production' }],
  ])('requires DATABASE_URL whatever NODE_ENV says (%s), and never starts a database itself', (_label, env) => {
    const error = configError({ EMBEDDED_PG_DATA_DIR: '/tmp/somewhere', ...env });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('DATABASE_URL is not set');
    expect(error.message).toContain('inversify-mikro-orm/embedded');
  });

  it('keeps the TLS and channel binding a Neon URL asks for', () => {
    const neon = `postgresql://app:${PASSWORD}@ep-cool-river-123.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require`;
    const config = loadDatabaseConfig({}, { DATABASE_URL: neon });
    expect(config.driverOptions).toMatchObject({ ssl: { rejectUnauthorized: false }, enableChannelBinding: true });
    expect(config.clientUrl).not.toContain('sslmode');
  });

  it.each([
    ['disable', false],
    ['verify-full', { rejectUnauthorized: true }],
  ])('maps sslmode=%s to pg ssl options', (mode, ssl) => {
    const config = loadDatabaseConfig({}, { DATABASE_URL: `postgresql://app@host/db?sslmode=${mode}` });
    expect((config.driverOptions as Record<string, unknown>).ssl).toEqual(ssl);
  });
});

function overrideError(overrides: DatabaseConfigOverrides, env: Record<string, string> = {}): string {
  try {
    loadDatabaseConfig(overrides, { DATABASE_URL: URL_WITH_PASSWORD, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect((error as InversifyMikroOrmError).kind).toBe('config');
    return (error as Error).message;
  }
  throw new Error('expected loadDatabaseConfig to reject the overrides');
}

/** Bare options as JavaScript callers may pass them, past the type checker. */
const untyped = (overrides: Record<string, unknown>) => overrides as DatabaseConfigOverrides;

describe('loadDatabaseConfig overrides: each one is honoured or rejected by name', () => {
  it("honours MikroORM's own pool option on every layer: pg, the warm-up and the supervisor", () => {
    const config = loadDatabaseConfig(
      { pool: { min: 1, max: 2, idleTimeoutMillis: 500 } },
      { DATABASE_URL: URL_WITH_PASSWORD },
    );
    expect(config.driverOptions).toMatchObject({ min: 1, max: 2, idleTimeoutMillis: 500 });
    expect(config.pool).toEqual({ min: 1, max: 2, idleTimeoutMillis: 500 });
    expect(config.lifecycle.pool).toMatchObject({ min: 1, max: 2, idleTimeoutMs: 500 });
  });

  it('rejects a pool max below the minimum, naming the override and the variable', () => {
    expect(overrideError({ pool: { max: 2 } })).toContain('DB_POOL_MIN (5) must not be greater than pool.max (2)');
    expect(overrideError({ lifecycle: { pool: { min: 9 } } }, { DB_POOL_MAX: '4' })).toContain(
      'lifecycle.pool.min (9) must not be greater than DB_POOL_MAX (4)',
    );
  });

  it.each([
    [{ pool: untyped({ maxSize: 3 }) }, 'pool.maxSize is not supported: pool takes min, max, idleTimeoutMillis'],
    [{ pool: untyped({ max: '2' }) }, 'pool.max must be a whole number >= 1 (got "2")'],
    [{ pool: { max: 4 }, lifecycle: { pool: { max: 6 } } }, 'lifecycle.pool.max (6) contradicts pool.max (4)'],
    [{ lifecycle: { pool: untyped({ maxx: 3 }) } }, 'lifecycle.pool.maxx is not a pool setting'],
    [
      { lifecycle: { pool: { validationTimeoutMs: 0 } } },
      'lifecycle.pool.validationTimeoutMs must be a whole number >= 1',
    ],
    [{ lifecycle: untyped({ stopTimeout: 5 }) }, 'lifecycle.stopTimeout is not a lifecycle setting'],
    [{ lifecycle: { connectTimeoutMs: -1 } }, 'lifecycle.connectTimeoutMs must be a whole number >= 0'],
    [{ lifecycle: untyped({ schemaUpdate: 'unsafe' }) }, 'lifecycle.schemaUpdate must be safe, off or migrate'],
    [{ driverOptions: { max: 3 } }, 'driverOptions.max is set through lifecycle.pool.max (or DB_POOL_MAX)'],
    [{ driverOptions: { min: 1 } }, 'driverOptions.min is set through lifecycle.pool.min (or DB_POOL_MIN)'],
    [
      { driverOptions: { idleTimeoutMillis: 1 } },
      'driverOptions.idleTimeoutMillis is set through lifecycle.pool.idleTimeoutMs',
    ],
    [
      { driverOptions: { maxLifetimeSeconds: 1 } },
      'driverOptions.maxLifetimeSeconds is set through lifecycle.pool.maxLifetimeSeconds',
    ],
    [
      { driverOptions: { connectionTimeoutMillis: 1 } },
      'driverOptions.connectionTimeoutMillis is set through lifecycle.pool.acquireTimeoutMs',
    ],
    [
      { driverOptions: { connectionString: 'postgresql://elsewhere/db' } },
      'driverOptions.connectionString is not supported: say where to connect with clientUrl',
    ],
    [{ driverOptions: { host: 'elsewhere' } }, 'driverOptions.host is not supported'],
    [{ driverOptions: { port: 6000 } }, 'driverOptions.port is not supported'],
    [{ driverOptions: { database: 'other' } }, 'driverOptions.database is not supported'],
    [{ driverOptions: { onPoolCreated: 'yes' } }, 'driverOptions.onPoolCreated must be a function'],
    [{ clientUrl: untyped({ href: 'x' }) as unknown as string }, 'clientUrl must be a string'],
  ])('rejects %o', (overrides, expected) => {
    expect(overrideError(overrides as DatabaseConfigOverrides)).toContain(expected);
  });

  it('rejects driverOptions that would replace the supervised pool (a function, a Kysely dialect)', () => {
    class Dialect {
      createDriver() {
        return undefined;
      }
    }
    for (const driverOptions of [() => ({}), new Dialect()]) {
      expect(overrideError(untyped({ driverOptions }))).toContain(
        'driverOptions must be a plain object of pg.Pool options',
      );
    }
  });

  it('merges the other driverOptions into the pg options, after the defaults', () => {
    const config = loadDatabaseConfig(
      { driverOptions: { keepAlive: false, statement_timeout: 5000, application_name: 'mine' } },
      { DATABASE_URL: URL_WITH_PASSWORD },
    );
    expect(config.driverOptions).toMatchObject({ keepAlive: false, statement_timeout: 5000, application_name: 'mine' });
  });

  it('takes clientUrl like DATABASE_URL: validated, its sslmode honoured, its endpoint named in errors', () => {
    const config = loadDatabaseConfig(
      { clientUrl: `postgresql://app:${PASSWORD}@other.example.com:6000/reports?sslmode=require` },
      { DATABASE_URL: URL_WITH_PASSWORD },
    );
    expect(config.clientUrl).toBe(`postgresql://app:${PASSWORD}@other.example.com:6000/reports`);
    expect(config.driverOptions).toMatchObject({ ssl: { rejectUnauthorized: false } });
    expect(config.lifecycle.endpoint).toBe('other.example.com:6000/reports');
    expect(config.lifecycle.embedded).toBeUndefined();

    const message = overrideError({ clientUrl: `postgresql://app:${PASSWORD}@host/db%zz` });
    expect(message).toContain('clientUrl has a malformed %-escape in its database name');
    expect(message).not.toContain(PASSWORD);
  });

  it('passes host, port, dbName, user and password to MikroORM (they win over the URL) and names that endpoint', () => {
    const config = loadDatabaseConfig(
      { host: 'replica.example.com', port: 6001, dbName: 'archive', user: 'reader', password: PASSWORD },
      { DATABASE_URL: URL_WITH_PASSWORD },
    );
    expect(config).toMatchObject({ host: 'replica.example.com', port: 6001, dbName: 'archive', user: 'reader' });
    expect(config.password).toBe(PASSWORD);
    expect(config.lifecycle.endpoint).toBe('replica.example.com:6001/archive');
  });

  it('passes debug and any other MikroORM option through unchanged', () => {
    const config = loadDatabaseConfig(
      { debug: ['query', 'discovery'], forceUtcTimezone: true },
      { DATABASE_URL: URL_WITH_PASSWORD, DB_ECHO: 'false' },
    );
    expect(config.debug).toEqual(['query', 'discovery']);
    expect(config.forceUtcTimezone).toBe(true);
  });

  it('names every bad override in one error', () => {
    const message = overrideError({ pool: { max: 0 }, driverOptions: { max: 3 }, lifecycle: untyped({ nope: 1 }) });
    expect(message).toContain('pool.max must be a whole number >= 1 (got 0)');
    expect(message).toContain('driverOptions.max is set through');
    expect(message).toContain('lifecycle.nope is not a lifecycle setting');
  });
});
