import 'reflect-metadata';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppLifecycle,
  databaseModule,
  InversifyMikroOrmError,
  loadDatabaseConfig,
  Session,
  withSession,
} from '../src/index.js';
import { Note } from './helpers/entities.js';
import { ScramPgBouncer } from './helpers/scram-pgbouncer.js';
import { uniqueApplicationName } from './helpers/test-database.js';
import { startTlsCluster, TLS_DATABASE, TLS_ROLE, type TlsCluster, WEAK_LOGINS } from './helpers/tls-cluster.js';
import { TlsRelay } from './helpers/tls-relay.js';

const WRONG_PASSWORD = 'Not-The-Password-93';

interface Boot {
  container: Container;
  lifecycle: AppLifecycle;
  /** How many times start() logged a retry. */
  retries(): number;
}

/** A container as an application builds it; DB_CONNECT_TIMEOUT_MS is long, so only a fast failure is fast. */
function boot(url: string, env: Record<string, string> = {}): Boot {
  const container = new Container();
  const config = loadDatabaseConfig(
    { entities: [Note] },
    { DATABASE_URL: url, DB_CONNECT_TIMEOUT_MS: '20000', DB_POOL_MIN: '3', ...env },
  );
  container.load(databaseModule(config));
  let retries = 0;
  const lifecycle = container
    .get(AppLifecycle)
    .useLogger({ info: () => undefined, error: () => undefined, warn: () => void retries++ });
  return { container, lifecycle, retries: () => retries };
}

/** Starts, expecting a failure without a single retry; returns the error. */
async function failedStart(app: Boot): Promise<InversifyMikroOrmError> {
  const error = await app.lifecycle.start().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InversifyMikroOrmError);
  expect(app.retries()).toBe(0);
  return error as InversifyMikroOrmError;
}

function expectNoSecret(error: Error, cluster: TlsCluster): void {
  for (const secret of [cluster.password, WRONG_PASSWORD]) {
    expect(error.message).not.toContain(secret);
    expect(String(error.stack)).not.toContain(secret);
  }
}

describe('a Neon-like server: TLS only, SCRAM-SHA-256, a certificate from its own CA', () => {
  let cluster: TlsCluster;

  beforeAll(async () => {
    cluster = await startTlsCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('boots with ?sslmode=require&channel_binding=require, and every pool connection uses TLS', async () => {
    const applicationName = uniqueApplicationName('neon');
    const app = boot(cluster.url(`?sslmode=require&channel_binding=require&application_name=${applicationName}`));
    try {
      await app.lifecycle.start();
      await withSession(app.container, async (session) => {
        session.create(Note, { body: 'over TLS' });
        await session.flush();
      });
      expect(await app.container.get(Session).count(Note)).toBe(1);
      const connections = await cluster.adminQuery<{ ssl: boolean }>(
        'select s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid) where a.application_name = $1',
        [applicationName],
      );
      expect(connections.length).toBeGreaterThanOrEqual(3);
      expect(connections.every((connection) => connection.ssl)).toBe(true);
    } finally {
      await app.lifecycle.stop();
    }
  });

  it('fails at once with sslmode=verify-full when the certificate is signed by an unknown CA', async () => {
    const app = boot(cluster.url('?sslmode=verify-full'));
    const error = await failedStart(app);
    expect(error.kind).toBe('config');
    expect(error.message).toContain('TLS certificate');
    expect(error.message).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(error.message).toContain('sslrootcert=');
  });

  it('connects with sslmode=verify-full when sslrootcert names the CA', async () => {
    const applicationName = uniqueApplicationName('verify');
    const app = boot(
      cluster.url(`?sslmode=verify-full&sslrootcert=${cluster.caFile}&application_name=${applicationName}`),
    );
    try {
      await app.lifecycle.start();
      const connections = await cluster.adminQuery<{ ssl: boolean }>(
        'select s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid) where a.application_name = $1',
        [applicationName],
      );
      expect(connections.length).toBeGreaterThanOrEqual(3);
      expect(connections.every((connection) => connection.ssl)).toBe(true);
    } finally {
      await app.lifecycle.stop();
    }
  });

  it('fails at once without sslmode, saying to add ?sslmode=require', async () => {
    const error = await failedStart(boot(cluster.url()));
    expect(error.kind).toBe('config');
    expect(error.message).toContain('accepts only TLS connections');
    expect(error.message).toContain('Add ?sslmode=require to DATABASE_URL');
    expectNoSecret(error, cluster);
  });

  it('fails at once on a wrong password (28P01), and the error holds no password', async () => {
    const error = await failedStart(boot(cluster.url('?sslmode=require', { password: WRONG_PASSWORD })));
    expect(error.kind).toBe('config');
    expect(error.message).toContain(`password authentication failed for user "${TLS_ROLE}"`);
    expect(error.message).toContain('Fix the user or password in DATABASE_URL');
    expectNoSecret(error, cluster);
  });

  it('fails at once when the role may not log in (28000)', async () => {
    await cluster.adminQuery(`create role cannot_login nologin password '${cluster.password}'`);
    const url = new URL(cluster.url('?sslmode=require'));
    url.username = 'cannot_login';
    const error = await failedStart(boot(url.href));
    expect(error.message).toContain('refused the login (role "cannot_login" is not permitted to log in)');
    expectNoSecret(error, cluster);
  });

  it.each([
    [
      'asks for the password in clear text (pg_hba.conf "password")',
      WEAK_LOGINS.cleartext,
      'the password in clear text',
    ],
    ['asks for an MD5 hash of the password (pg_hba.conf "md5")', WEAK_LOGINS.md5, 'an MD5 password hash'],
  ])('with channel_binding=require, fails at once when the server %s, sending no password', async (_, user, asked) => {
    const app = boot(cluster.url('?sslmode=require&channel_binding=require', { user }), { DB_SCHEMA_UPDATE: 'off' });
    const error = await failedStart(app);
    expect(error.kind).toBe('config');
    expect(error.message).toContain(`asked for ${asked}`);
    expect(error.message).toContain('channel_binding=require');
    expectNoSecret(error, cluster);
    // The password is right: had it been sent, the server would have let the login in.
    expect(cluster.serverLog()).not.toContain(`connection authorized: user=${user}`);
  });

  it('with channel_binding=require, fails at once when the server lets the login in without SCRAM (certificate authentication)', async () => {
    const { certFile, keyFile } = cluster.clientCertificate;
    const query = `?sslmode=verify-full&sslrootcert=${cluster.caFile}&sslcert=${certFile}&sslkey=${keyFile}&channel_binding=require`;
    const app = boot(cluster.url(query, { user: WEAK_LOGINS.certificate, password: '' }), { DB_SCHEMA_UPDATE: 'off' });
    const error = await failedStart(app);
    expect(error.message).toContain('let the login in without a SCRAM exchange');
  });

  it('with channel_binding=prefer, still logs in when the server asks for the password in clear text', async () => {
    const app = boot(cluster.url('?sslmode=require&channel_binding=prefer', { user: WEAK_LOGINS.cleartext }), {
      DB_SCHEMA_UPDATE: 'off',
    });
    try {
      await app.lifecycle.start();
      expect(cluster.serverLog()).toContain(`connection authorized: user=${WEAK_LOGINS.cleartext}`);
    } finally {
      await app.lifecycle.stop();
    }
  });

  it('logs in with a client certificate (sslcert, sslkey)', async () => {
    const { certFile, keyFile } = cluster.clientCertificate;
    const query = `?sslmode=verify-full&sslrootcert=${cluster.caFile}&sslcert=${certFile}&sslkey=${keyFile}`;
    const app = boot(cluster.url(query, { user: WEAK_LOGINS.certificate, password: '' }), { DB_SCHEMA_UPDATE: 'off' });
    try {
      await app.lifecycle.start();
    } finally {
      await app.lifecycle.stop();
    }
  });

  describe('through a man in the middle that re-encrypts with its own certificate', () => {
    let relay: TlsRelay;

    beforeAll(async () => {
      relay = await TlsRelay.start({ host: '127.0.0.1', port: cluster.port });
    });

    afterAll(async () => {
      await relay?.close();
    });

    it('fails at once with channel_binding=require: the login is bound to the TLS connection the client sees', async () => {
      const error = await failedStart(boot(relay.urlFor(cluster.url('?sslmode=require&channel_binding=require'))));
      expect(error.kind).toBe('config');
      expect(error.message).toContain('SCRAM channel binding check failed');
      expect(error.message).toContain('not the server');
      expectNoSecret(error, cluster);
    });

    it('logs in with channel_binding=disable (the relay itself passes logins through)', async () => {
      const app = boot(relay.urlFor(cluster.url('?sslmode=require&channel_binding=disable')));
      try {
        await app.lifecycle.start();
      } finally {
        await app.lifecycle.stop();
      }
    });
  });

  describe('through PgBouncer, which offers SCRAM-SHA-256 without channel binding', () => {
    let bouncer: ScramPgBouncer;

    beforeAll(async () => {
      bouncer = await ScramPgBouncer.start({
        port: cluster.port,
        user: TLS_ROLE,
        password: cluster.password,
        database: TLS_DATABASE,
      });
    });

    afterAll(async () => {
      await bouncer?.stop();
    });

    it('fails at once with channel_binding=require', async () => {
      const error = await failedStart(boot(bouncer.urlFor(cluster.url('?sslmode=require&channel_binding=require'))));
      expect(error.kind).toBe('config');
      expect(error.message).toContain('offered only SCRAM-SHA-256, without SCRAM-SHA-256-PLUS');
      expectNoSecret(error, cluster);
    });

    it('logs in with channel_binding=prefer (binding is best effort)', async () => {
      const app = boot(bouncer.urlFor(cluster.url('?sslmode=require&channel_binding=prefer')));
      try {
        await app.lifecycle.start();
      } finally {
        await app.lifecycle.stop();
      }
    });
  });

  it('fails at once when the URL says sslmode=disable, saying to change it', async () => {
    const error = await failedStart(boot(cluster.url('?sslmode=disable')));
    expect(error.message).toContain('accepts only TLS connections');
    expect(error.message).toContain('DATABASE_URL has sslmode=disable: change it to sslmode=require');
    expect(error.message).not.toContain('Add ?sslmode=require');
    expectNoSecret(error, cluster);
  });

  it('keeps retrying while the server has no connection slot for the role (53300), then boots', async () => {
    await cluster.adminQuery(`alter role ${TLS_ROLE} connection limit 0`);
    const app = boot(cluster.url('?sslmode=require'));
    const reopened = new Promise((resolve) => setTimeout(resolve, 1000)).then(() =>
      cluster.adminQuery(`alter role ${TLS_ROLE} connection limit -1`),
    );
    try {
      await app.lifecycle.start();
      await reopened;
      expect(app.retries()).toBeGreaterThan(0);
    } finally {
      await reopened;
      await app.lifecycle.stop();
    }
  });
});
