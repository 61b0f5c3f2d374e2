import { EntityManager } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';
import { EmbeddedDatabase, embeddedDatabaseConfig } from '../src/embedded/index.js';
import {
  type DatabaseConfigOverrides,
  InversifyMikroOrmError,
  loadDatabaseConfig,
  ReadYourWritesEntityManager,
  type ReplicaOptions,
} from '../src/index.js';

const PRIMARY = 'postgresql://app:Primary-Secret-1@primary.example.com:5432/tasks?sslmode=require';
const REPLICA_PASSWORD = 'Replica-Secret-2';
const REPLICA_1 = `postgresql://reader:${REPLICA_PASSWORD}@replica-a.example.com:6432/tasks?application_name=reads`;
const REPLICA_2 = `postgresql://reader:${REPLICA_PASSWORD}@replica-b.example.com/tasks?sslmode=verify-full&channel_binding=require`;

function configError(env: Record<string, string>, overrides: DatabaseConfigOverrides = {}): InversifyMikroOrmError {
  try {
    loadDatabaseConfig(overrides, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected loadDatabaseConfig to throw');
}

describe('DATABASE_REPLICA_URLS', () => {
  it('configures one MikroORM replica per URL: its own endpoint, credentials and TLS, the pool settings of the primary', () => {
    const config = loadDatabaseConfig(
      {},
      { DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: ` ${REPLICA_1} , ${REPLICA_2} `, DB_POOL_MAX: '7' },
    );
    const [first, second] = config.replicas as ReplicaOptions[];
    expect(config.replicas).toHaveLength(2);
    expect(first).toMatchObject({
      name: 'replica-1',
      endpoint: 'replica-a.example.com:6432/tasks',
      clientUrl: `postgresql://reader:${REPLICA_PASSWORD}@replica-a.example.com:6432/tasks`,
      replicaTimeoutMs: 5000,
      driverOptions: { application_name: 'reads', max: 7, keepAlive: true, onPoolCreated: expect.any(Function) },
    });
    // The primary's sslmode=require is the primary's: a replica URL without sslmode gets no TLS.
    expect(first?.driverOptions).not.toHaveProperty('ssl');
    expect(second).toMatchObject({
      name: 'replica-2',
      endpoint: 'replica-b.example.com:5432/tasks',
      driverOptions: {
        application_name: 'inversify-mikro-orm',
        enableChannelBinding: true,
        ssl: { rejectUnauthorized: true },
      },
    });
    expect(config.driverOptions).toMatchObject({ ssl: { rejectUnauthorized: false } });
  });

  it('configures no replicas when it is unset or empty', () => {
    expect(loadDatabaseConfig({}, { DATABASE_URL: PRIMARY }).replicas).toBeUndefined();
    expect(loadDatabaseConfig({}, { DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: ' ' }).replicas).toBeUndefined();
  });

  it('names the variable and the entry of every bad replica URL, never a password', () => {
    const error = configError({
      DATABASE_URL: PRIMARY,
      DATABASE_REPLICA_URLS: [
        REPLICA_1,
        `postgresql://reader:${REPLICA_PASSWORD}@replica-b.example.com/tasks?sslmode=sometimes`,
        `mysql://reader:${REPLICA_PASSWORD}@replica-c.example.com/tasks`,
        '',
        `postgresql://reader:${REPLICA_PASSWORD}@replica-d.example.com/tasks?sslmode=require&sslrootcert=/nonexistent/ca.crt`,
      ].join(','),
    });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('DATABASE_REPLICA_URLS entry 2 has sslmode=sometimes');
    expect(error.message).toContain('DATABASE_REPLICA_URLS entry 3 must start with postgresql://');
    expect(error.message).toContain('DATABASE_REPLICA_URLS entry 4 is empty');
    expect(error.message).toContain(
      'DATABASE_REPLICA_URLS entry 5 has sslrootcert=/nonexistent/ca.crt, which cannot be read',
    );
    expect(error.message).not.toContain('entry 1');
    expect(error.message).not.toContain(REPLICA_PASSWORD);
  });

  it('reads REPORTS_DATABASE_REPLICA_URLS for a database loaded with the REPORTS_ prefix, and names it in errors', () => {
    const env = { REPORTS_DATABASE_URL: PRIMARY, REPORTS_DATABASE_REPLICA_URLS: REPLICA_1, DATABASE_REPLICA_URLS: 'x' };
    const config = loadDatabaseConfig({}, env, { prefix: 'REPORTS_' });
    expect((config.replicas as ReplicaOptions[]).map((replica) => replica.endpoint)).toEqual([
      'replica-a.example.com:6432/tasks',
    ]);
    expect(() =>
      loadDatabaseConfig({}, { ...env, REPORTS_DATABASE_REPLICA_URLS: 'not a url' }, { prefix: 'REPORTS_' }),
    ).toThrow('REPORTS_DATABASE_REPLICA_URLS entry 1 is not a valid URL');
  });

  it('reads DB_REPLICA_TIMEOUT_MS, validated like the other settings, and lets lifecycle.replicaTimeoutMs win', () => {
    const env = { DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: REPLICA_1, DB_REPLICA_TIMEOUT_MS: '1500' };
    expect((loadDatabaseConfig({}, env).replicas as ReplicaOptions[])[0]?.replicaTimeoutMs).toBe(1500);
    const overridden = loadDatabaseConfig({ lifecycle: { replicaTimeoutMs: 800 } }, env);
    expect((overridden.replicas as ReplicaOptions[])[0]?.replicaTimeoutMs).toBe(800);
    expect(configError({ ...env, DB_REPLICA_TIMEOUT_MS: '0' }).message).toContain(
      'DB_REPLICA_TIMEOUT_MS must be a whole number >= 1 (got "0")',
    );
  });

  it('rejects what would bypass it: a replicas override, replicas of the embedded server, an entityManager that forgets writes', () => {
    const withReplicas = { DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: REPLICA_1 };
    expect(configError(withReplicas, { replicas: [{ clientUrl: REPLICA_2 }] }).message).toContain(
      'replicas is set through DATABASE_REPLICA_URLS',
    );
    const embedded = new EmbeddedDatabase({ dataDir: '/nonexistent/never-started', database: 'app' });
    expect(() => embeddedDatabaseConfig(embedded, {}, { DATABASE_REPLICA_URLS: REPLICA_1 })).toThrow(
      'DATABASE_REPLICA_URLS cannot be used with the embedded PostgreSQL (it has no replicas)',
    );
    class PlainManager extends EntityManager {}
    expect(configError(withReplicas, { entityManager: PlainManager }).message).toContain(
      'entityManager must extend ReadYourWritesEntityManager',
    );
    class OwnManager extends ReadYourWritesEntityManager {}
    expect(loadDatabaseConfig({ entityManager: OwnManager }, withReplicas).entityManager).toBe(OwnManager);
    expect(loadDatabaseConfig({ entityManager: PlainManager }, { DATABASE_URL: PRIMARY }).entityManager).toBe(
      PlainManager,
    );
  });
});
