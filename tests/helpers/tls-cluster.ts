import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { asServerUser, assertServerBinaries, chownToServerUser, onPath, queryOnce as query } from './local-postgres.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

export const TLS_ROLE = 'neon_like_app';
export const TLS_DATABASE = 'neondb';
/**
 * Roles the server authenticates without SCRAM (each by its own `pg_hba.conf` rule): the logins a
 * man in the middle would offer. `cleartext` and `md5` have the cluster's password.
 */
export const WEAK_LOGINS = { cleartext: 'cleartext_login', md5: 'md5_login', certificate: 'cert_login' } as const;

/** A throwaway PostgreSQL that speaks TLS only, with SCRAM-SHA-256 passwords: the shape of a Neon endpoint. */
export interface TlsCluster {
  readonly port: number;
  /** The CA that signed the server certificate (for `sslrootcert=`). */
  readonly caFile: string;
  /** A client certificate for `WEAK_LOGINS.certificate`, signed by the same CA (for `sslcert=`, `sslkey=`). */
  readonly clientCertificate: { certFile: string; keyFile: string };
  /** The password of `TLS_ROLE`: a test secret that must never appear in errors or logs. */
  readonly password: string;
  /** `postgresql://neon_like_app:<password>@127.0.0.1:<port>/neondb` plus `query` (never print it). */
  url(query?: string, overrides?: { password?: string; database?: string; user?: string }): string;
  /** What the server logged so far (`log_connections` is on: every login it authorized is there). */
  serverLog(): string;
  /** Runs SQL as the superuser over the Unix socket (the only non-TLS way in). */
  adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL 15 cluster in a temporary folder: `ssl=on` with a server certificate signed by a
 * CA generated here (the chain is served, so a client without the CA sees a self-signed certificate),
 * `hostssl ... scram-sha-256` as the only TCP rule, and a login role with a password.
 * Fails, never skips, when a binary is missing.
 */
export async function startTlsCluster(): Promise<TlsCluster> {
  assertBinaries();
  const dir = mkdtempSync(path.join(tmpdir(), 'tls-pg-'));
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  const password = `Tls-Secret-${Math.random().toString(36).slice(2, 10)}`;
  const admin = { host: dir, port, user: 'postgres', database: 'postgres' };
  let started = false;
  const stop = async () => {
    if (started) await asServerUser('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await makeCertificates(dir);
    await chownToServerUser(dir);
    await asServerUser('initdb', ['-D', dataDir, '-U', 'postgres', '--auth-local=trust', '-E', 'UTF8']);
    const weakRules = [
      `hostssl all ${WEAK_LOGINS.cleartext} 127.0.0.1/32 password`,
      `hostssl all ${WEAK_LOGINS.md5} 127.0.0.1/32 md5`,
      `hostssl all ${WEAK_LOGINS.certificate} 127.0.0.1/32 cert`,
    ];
    writeFileSync(
      path.join(dataDir, 'pg_hba.conf'),
      ['local all postgres trust', ...weakRules, 'hostssl all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
    );
    const settings = [
      `port=${port}`,
      "listen_addresses='127.0.0.1'",
      `unix_socket_directories='${dir}'`,
      'ssl=on',
      `ssl_cert_file='${path.join(dir, 'server-chain.crt')}'`,
      `ssl_key_file='${path.join(dir, 'server.key')}'`,
      `ssl_ca_file='${path.join(dir, 'ca.crt')}'`,
      "password_encryption='scram-sha-256'",
      'max_connections=30',
      'log_connections=on',
      'shared_buffers=16MB',
      'fsync=off',
    ];
    writeFileSync(path.join(dataDir, 'postgresql.auto.conf'), `${settings.join('\n')}\n`);
    await chownToServerUser(dataDir);
    await asServerUser('pg_ctl', ['start', '-D', dataDir, '-l', path.join(dir, 'server.log'), '-w', '-t', '30']);
    started = true;
    await query(admin, `create role ${TLS_ROLE} login password '${password}'`);
    await query(admin, `create database ${TLS_DATABASE} owner ${TLS_ROLE}`);
    await query(admin, `create role ${WEAK_LOGINS.cleartext} login password '${password}'`);
    // A password stored as an MD5 hash makes the `md5` rule ask for MD5 (with a SCRAM one it asks for SCRAM).
    const md5 = createHash('md5').update(`${password}${WEAK_LOGINS.md5}`).digest('hex');
    await query(admin, `create role ${WEAK_LOGINS.md5} login password 'md5${md5}'`);
    await query(admin, `create role ${WEAK_LOGINS.certificate} login`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    caFile: path.join(dir, 'ca.crt'),
    clientCertificate: { certFile: path.join(dir, 'client.crt'), keyFile: path.join(dir, 'client.key') },
    password,
    url(search = '', overrides = {}) {
      const url = new URL(`postgresql://127.0.0.1:${port}/${overrides.database ?? TLS_DATABASE}`);
      url.username = overrides.user ?? TLS_ROLE;
      url.password = overrides.password ?? password;
      url.search = search;
      return url.href;
    },
    serverLog: () => readFileSync(path.join(dir, 'server.log'), 'utf8'),
    adminQuery: (sql, params) => query(admin, sql, params),
    stop,
  };
}

function assertBinaries(): void {
  assertServerBinaries(['initdb', 'pg_ctl'], 'The TLS tests');
  if (!onPath('openssl')) {
    throw new Error(
      'The TLS tests generate certificates with openssl, which is not on PATH: apt-get install -y openssl.',
    );
  }
}

/**
 * A CA, a server certificate for 127.0.0.1/localhost signed by it (the server sends both), and a
 * client certificate for `WEAK_LOGINS.certificate` signed by it.
 */
async function makeCertificates(dir: string): Promise<void> {
  const at = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2'].concat([
      '-subj',
      '/CN=inversify-mikro-orm test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]),
  );
  await run('openssl', ['req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    at('server.ext'),
    '-out',
    at('server.crt'),
  ]);
  writeFileSync(at('server-chain.crt'), readFileSync(at('server.crt'), 'utf8') + readFileSync(at('ca.crt'), 'utf8'));
  chmodSync(at('server.key'), 0o600);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    at('client.key'),
    '-out',
    at('client.csr'),
    '-subj',
    `/CN=${WEAK_LOGINS.certificate}`,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    at('client.csr'),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    at('client.crt'),
  ]);
}
