import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';

const PASSWORD = 'Tls-Options-Secret-5';
const dir = mkdtempSync(path.join(tmpdir(), 'tls-options-'));
const caFile = path.join(dir, 'ca.pem');
writeFileSync(caFile, 'the CA certificate');

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
