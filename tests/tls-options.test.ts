import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';

const PASSWORD = 'Tls-Options-Secret-5';
const dir = mkdtempSync(path.join(tmpdir(), 'tls-options-'));
const caFile = path.join(dir, 'ca.pem');
writeFileSync(caFile, 'the CA certificate');
const PRIVATE_KEY = 'PRIVATE-KEY-MATERIAL-7f3a';
const keyFile = path.join(dir, 'client.key');
writeFileSync(keyFile, PRIVATE_KEY);
const certFile = path.join(dir, 'client.crt');
writeFileSync(certFile, 'the client certificate');

function sslFor(query: string): Record<string, unknown> | boolean {
  const config = loadDatabaseConfig({}, { DATABASE_URL: `postgresql://app:${PASSWORD}@db.example.com/app?${query}` });
  return (config.driverOptions as { ssl: Record<string, unknown> | boolean }).ssl;
}

function problemsOf(query: string): string {
  try {
    sslFor(query);
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect((error as Error).message).not.toContain(PASSWORD);
    return (error as Error).message;
  }
  throw new Error(`no configuration error for ?${query}`);
}

describe('TLS options from the sslmode, sslrootcert and channel_binding of DATABASE_URL (libpq semantics)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verify-full with sslrootcert trusts that CA and checks the host name', () => {
    expect(sslFor(`sslmode=verify-full&sslrootcert=${caFile}`)).toEqual({
      ca: 'the CA certificate',
      rejectUnauthorized: true,
    });
  });

  it('verify-ca checks the chain but not the host name', () => {
    const ssl = sslFor(`sslmode=verify-ca&sslrootcert=${caFile}`) as Record<string, unknown>;
    expect(ssl).toMatchObject({ ca: 'the CA certificate', rejectUnauthorized: true });
    expect((ssl.checkServerIdentity as () => unknown)()).toBeUndefined();
  });

  it('require with sslrootcert verifies the chain, like libpq', () => {
    const ssl = sslFor(`sslmode=require&sslrootcert=${caFile}`) as Record<string, unknown>;
    expect(ssl).toMatchObject({ ca: 'the CA certificate', rejectUnauthorized: true });
    expect(typeof ssl.checkServerIdentity).toBe('function');
  });

  it('sslrootcert=system keeps the default trusted CAs', () => {
    expect(sslFor('sslmode=verify-full&sslrootcert=system')).toEqual({ rejectUnauthorized: true });
  });

  it.each(['require', 'verify-ca', 'prefer'])(
    'rejects sslrootcert=system with sslmode=%s, naming verify-full',
    (mode) => {
      expect(problemsOf(`sslmode=${mode}&sslrootcert=system`)).toContain(
        `DATABASE_URL has sslrootcert=system with sslmode=${mode}, which would not verify the server against the system CAs (libpq refuses it): use sslmode=verify-full`,
      );
    },
  );

  it('keeps the client private key (sslkey) for pg, but out of JSON.stringify and util.inspect of the config', () => {
    const config = loadDatabaseConfig(
      {},
      {
        DATABASE_URL: `postgresql://app:${PASSWORD}@db.example.com/app?sslmode=verify-full&sslrootcert=${caFile}&sslcert=${certFile}&sslkey=${keyFile}`,
      },
    );
    const ssl = (config.driverOptions as { ssl: Record<string, unknown> }).ssl;
    expect(ssl.key).toBe(PRIVATE_KEY);
    expect(ssl.cert).toBe('the client certificate');
    expect(JSON.stringify(config)).not.toContain(PRIVATE_KEY);
    expect(inspect(config, { depth: Number.POSITIVE_INFINITY })).not.toContain(PRIVATE_KEY);
  });

  it('names an sslrootcert file that cannot be read', () => {
    const missing = path.join(dir, 'nope.pem');
    expect(problemsOf(`sslmode=verify-full&sslrootcert=${missing}`)).toContain(
      `DATABASE_URL has sslrootcert=${missing}, which cannot be read (ENOENT)`,
    );
  });

  it.each([
    ['channel_binding=require', 'channel_binding=require but no sslmode'],
    ['sslmode=disable&channel_binding=require', 'channel_binding=require but sslmode=disable'],
    [`sslrootcert=${caFile}`, 'sslrootcert but no sslmode, so no TLS would be used'],
  ])('rejects TLS settings that would silently not apply (?%s)', (query, expected) => {
    expect(problemsOf(query)).toContain(expected);
  });
});
