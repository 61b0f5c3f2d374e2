import { describe, expect, it } from 'vitest';
import { EmbeddedDatabase, embeddedDatabaseConfig } from '../src/embedded/index.js';
import type { DatabaseConfigOverrides } from '../src/index.js';

describe('embeddedDatabaseConfig', () => {
  const embedded = new EmbeddedDatabase({ dataDir: '/tmp/somewhere', database: 'app' });

  it('asks AppLifecycle to run the embedded server, and ignores DATABASE_URL', () => {
    const config = embeddedDatabaseConfig(embedded, {}, { DATABASE_URL: 'postgresql://u@elsewhere/db' });
    expect(config.lifecycle.embedded).toBe(embedded);
    expect(config.lifecycle.endpoint).toBe('embedded PostgreSQL (/tmp/somewhere)');
    expect(config.dbName).toBe('app');
    // Host, port and password exist only once the server runs: pg reads them at the first connect.
    expect(typeof config.driverOptions).toBe('function');
    expect(() => (config.driverOptions as () => unknown)()).toThrow(/not running yet/);
  });

  it('validates the other settings exactly as loadDatabaseConfig does', () => {
    expect(() => embeddedDatabaseConfig(embedded, {}, { DB_POOL_MIN: 'five' })).toThrow(
      'DB_POOL_MIN must be a whole number >= 0 (got "five")',
    );
    const config = embeddedDatabaseConfig(embedded, { lifecycle: { pool: { max: 3 } } }, { DB_POOL_MIN: '2' });
    expect(config.lifecycle.pool).toMatchObject({ min: 2, max: 3 });
  });

  it('rejects connection overrides the embedded server would overwrite', () => {
    for (const key of ['host', 'port', 'dbName', 'user', 'password']) {
      const override = { [key]: key === 'port' ? 6001 : 'x' } as DatabaseConfigOverrides;
      expect(() => embeddedDatabaseConfig(embedded, override, {})).toThrow(
        `${key} has no effect on the embedded PostgreSQL`,
      );
    }
    expect(() => embeddedDatabaseConfig(embedded, { clientUrl: 'postgresql://u@elsewhere/db' }, {})).toThrow(
      'clientUrl has no effect on the embedded PostgreSQL',
    );
  });
});
