import { describe, expect, it } from 'vitest';
import { InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';

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
      validateAfterIdleMillis: 1000,
      connectionTimeoutMillis: 30000,
      idleTimeoutMillis: 10000,
      application_name: 'inversify-mikro-orm',
    });
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
        DB_ECHO: 'true',
      },
    );
    expect(config.driverOptions).toMatchObject({
      min: 2,
      max: 7,
      maxLifetimeSeconds: 60,
      validateAfterIdleMillis: 250,
      connectionTimeoutMillis: 1500,
    });
    expect(config.debug).toEqual(['query']);
  });

  it('lets overrides win, merging driverOptions one level deep', () => {
    const config = loadDatabaseConfig(
      { driverOptions: { application_name: 'mine' }, lifecycle: { schemaUpdate: 'off', pool: { max: 3 } } },
      { DATABASE_URL: URL_WITH_PASSWORD },
    );
    expect(config.driverOptions).toMatchObject({ application_name: 'mine', min: 5, max: 3 });
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
      DB_ECHO: 'maybe',
    });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('DB_POOL_MIN must be a whole number >= 0 (got "five")');
    expect(error.message).toContain('DB_POOL_MAX must be a whole number >= 1 (got "-1")');
    expect(error.message).toContain('DB_POOL_MAX_LIFETIME_S must be a whole number >= 0 (got "1.5")');
    expect(error.message).toContain('DB_POOL_ACQUIRE_TIMEOUT_MS must be a whole number >= 1 (got "0")');
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

  it('requires DATABASE_URL in production instead of starting an embedded server', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.message).toContain('DATABASE_URL is required when NODE_ENV=production');
  });

  it('uses an embedded server outside production when DATABASE_URL is absent', () => {
    const config = loadDatabaseConfig({}, { EMBEDDED_PG_DATA_DIR: '/tmp/somewhere' });
    expect(config.lifecycle.embedded?.options.dataDir).toBe('/tmp/somewhere');
    expect(typeof config.driverOptions).toBe('function');
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
