import { describe, expect, it } from 'vitest';
import { InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';

const PASSWORD = 'R3ports-Pa55word';
const REPORTS_URL = `postgresql://reports:${PASSWORD}@reports.example.com:6543/reports`;
const reports = { prefix: 'REPORTS_' };

function configError(env: Record<string, string | undefined>, prefix = 'REPORTS_'): InversifyMikroOrmError {
  try {
    loadDatabaseConfig({}, env, { prefix });
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected loadDatabaseConfig to throw');
}

describe('loadDatabaseConfig with a prefix (a second database)', () => {
  it('reads every variable with the prefix and ignores the unprefixed ones', () => {
    const config = loadDatabaseConfig(
      {},
      {
        DATABASE_URL: 'postgresql://app@main.example.com:5432/main',
        DB_POOL_MAX: '99',
        DB_SCHEMA_UPDATE: 'safe',
        REPORTS_DATABASE_URL: REPORTS_URL,
        REPORTS_DB_POOL_MIN: '1',
        REPORTS_DB_POOL_MAX: '4',
        REPORTS_DB_CONNECT_TIMEOUT_MS: '500',
        REPORTS_DB_SCHEMA_UPDATE: 'off',
        REPORTS_DB_ECHO: 'true',
      },
      reports,
    );
    expect(config.lifecycle.endpoint).toBe('reports.example.com:6543/reports');
    expect(config.lifecycle.pool).toMatchObject({ min: 1, max: 4 });
    expect(config.lifecycle).toMatchObject({ connectTimeoutMs: 500, schemaUpdate: 'off' });
    expect(config.debug).toEqual(['query']);
  });

  it('names the prefixed variables in errors, and never the password', () => {
    const error = configError({
      REPORTS_DATABASE_URL: `postgresql://reports:${PASSWORD}@reports.example.com:notaport/reports`,
      REPORTS_DB_POOL_MAX: 'many',
      REPORTS_DB_POOL_MIN: '-1',
      REPORTS_DB_ECHO: 'loud',
    });
    expect(error.kind).toBe('config');
    for (const variable of ['REPORTS_DATABASE_URL', 'REPORTS_DB_POOL_MAX', 'REPORTS_DB_POOL_MIN', 'REPORTS_DB_ECHO']) {
      expect(error.message).toContain(variable);
    }
    expect(error.message).not.toContain(PASSWORD);
  });

  it('names both prefixed variables when the pool minimum exceeds the maximum', () => {
    const error = configError({
      REPORTS_DATABASE_URL: REPORTS_URL,
      REPORTS_DB_POOL_MIN: '9',
      REPORTS_DB_POOL_MAX: '3',
    });
    expect(error.message).toContain('REPORTS_DB_POOL_MIN (9) must not be greater than REPORTS_DB_POOL_MAX (3)');
  });

  it('requires the prefixed URL whatever NODE_ENV says, naming it (the unprefixed one does not count)', () => {
    for (const NODE_ENV of ['production', 'development', undefined]) {
      const error = configError({ NODE_ENV, DATABASE_URL: 'postgresql://app@main.example.com/main' });
      expect(error.message).toContain('REPORTS_DATABASE_URL is not set');
    }
  });

  it('refuses a prefix that would not read as one (REPORTS instead of REPORTS_)', () => {
    expect(configError({}, 'REPORTS').message).toContain(
      'prefix must be upper-case letters, digits and "_", ending with "_"',
    );
    expect(configError({}, 'reports_').kind).toBe('config');
  });
});
