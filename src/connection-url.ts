import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ChannelBindingClient } from './channel-binding.js';

/** What a `postgres://` URL says, split into what MikroORM understands and what only `pg` does. */
export interface ParsedConnectionUrl {
  /** The URL without credentials-free query parameters MikroORM would silently drop. */
  clientUrl: string;
  host: string;
  port: number;
  database: string;
  /** `pg` client options that MikroORM 7 does not derive from `clientUrl` (TLS, channel binding). */
  driverOptions: {
    ssl?: boolean | TlsConnectionOptions;
    enableChannelBinding?: boolean;
    /** The `pg` client class the pool creates: with `channel_binding=require`, one that enforces it. */
    Client?: typeof ChannelBindingClient;
    application_name?: string;
  };
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof SSL_MODES)[number];

/** Certificate files a URL names (libpq's `sslrootcert`, `sslcert`, `sslkey`), read into `pg`'s TLS options. */
const CERTIFICATE_PARAMETERS = { sslrootcert: 'ca', sslcert: 'cert', sslkey: 'key' } as const;
type CertificateFiles = Partial<Record<(typeof CERTIFICATE_PARAMETERS)[keyof typeof CERTIFICATE_PARAMETERS], string>>;

/**
 * libpq semantics: `require` encrypts without checking the certificate (unless a root certificate
 * is given: then it checks the chain, like `verify-ca`), `verify-ca` checks the chain, `verify-full`
 * also the host name. `allow`/`prefer` cannot be opportunistic in `pg`, so they encrypt like
 * `require` (safer than silently sending plaintext).
 */
function tlsFor(mode: SslMode, files: CertificateFiles): boolean | TlsConnectionOptions {
  if (mode === 'disable') return false;
  return new TlsOptions(files, verificationFor(mode, files)) as TlsConnectionOptions;
}

function verificationFor(mode: Exclude<SslMode, 'disable'>, files: CertificateFiles): TlsConnectionOptions {
  const chainOnly = { rejectUnauthorized: true, checkServerIdentity: () => undefined };
  switch (mode) {
    case 'allow':
    case 'prefer':
    case 'require':
      return files.ca ? chainOnly : { rejectUnauthorized: false };
    case 'verify-ca':
      return chainOnly;
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/**
 * `pg`'s TLS options, holding the client's private key (`sslkey`) as a non-enumerable property, as
 * `pg` itself does: a dump of the configuration (`JSON.stringify`, `util.inspect`, a logged config)
 * never shows it. MikroORM deep-copies its options through their enumerable properties, which would
 * lose the key; its copy uses an object's own `clone()`, which hands over this same object.
 */
class TlsOptions {
  constructor({ key, ...files }: CertificateFiles, verification: TlsConnectionOptions) {
    Object.assign(this, files, verification);
    if (key !== undefined) {
      Object.defineProperty(this, 'key', { value: key, enumerable: false, writable: true, configurable: true });
    }
  }

  clone(): this {
    return this;
  }
}

/**
 * Reads the certificate files the URL names. `sslrootcert=system` means the default trusted CAs
 * (libpq 16), which is what Node uses when no CA is given.
 */
function readCertificateFiles(url: URL, variable: string, problems: string[]): CertificateFiles {
  const files: CertificateFiles = {};
  for (const [parameter, option] of Object.entries(CERTIFICATE_PARAMETERS)) {
    const file = url.searchParams.get(parameter);
    if (file === null || (parameter === 'sslrootcert' && file === 'system')) continue;
    try {
      files[option] = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(
        `${variable} has ${parameter}=${file}, which cannot be read (${(error as NodeJS.ErrnoException).code})`,
      );
    }
  }
  return files;
}

/**
 * libpq refuses `sslrootcert=system` with any sslmode but `verify-full`: `require` would not check the
 * certificate at all, and `verify-ca` would accept one that any public CA issued, for any host.
 */
function checkSystemRoots(url: URL, sslMode: string | null, variable: string, problems: string[]): void {
  const weak = sslMode !== null && sslMode !== 'disable' && sslMode !== 'verify-full';
  if (url.searchParams.get('sslrootcert') !== 'system' || !weak) return;
  problems.push(
    `${variable} has sslrootcert=system with sslmode=${sslMode}, which would not verify the server against the system CAs (libpq refuses it): use sslmode=verify-full`,
  );
}

/** TLS settings that would silently not apply: certificates or channel binding without TLS. */
function checkTlsWanted(url: URL, sslMode: string | null, variable: string, problems: string[]): void {
  if (sslMode !== null && sslMode !== 'disable') return;
  const given = sslMode === null ? 'no sslmode' : 'sslmode=disable';
  for (const parameter of Object.keys(CERTIFICATE_PARAMETERS)) {
    if (url.searchParams.has(parameter)) {
      problems.push(`${variable} has ${parameter} but ${given}, so no TLS would be used: add sslmode=verify-full`);
    }
  }
  if (url.searchParams.get('channel_binding') === 'require') {
    problems.push(
      `${variable} has channel_binding=require but ${given}; channel binding needs TLS: add sslmode=require`,
    );
  }
}

/** Describes a URL for messages: host, port and database, never the user's password. */
export function describeEndpoint(host: string, port: number, database?: string): string {
  return `${host}:${port}${database ? `/${database}` : ''}`;
}

/**
 * Parses `DATABASE_URL`. Returns a list of problems instead of throwing, so config validation can
 * report every bad variable at once. Problems never quote the URL (it may hold a password).
 */
export function parseConnectionUrl(
  raw: string,
  variable: string,
): { url: ParsedConnectionUrl } | { problems: string[] } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return {
      problems: [`${variable} is not a valid URL (expected postgresql://user:password@host:5432/database)`],
    };
  }
  const problems: string[] = [];
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push(`${variable} must start with postgresql:// or postgres:// (got ${url.protocol}//)`);
  }
  if (!url.hostname) problems.push(`${variable} has no host`);
  const host = decoded(url.hostname);
  const database = decoded(url.pathname.replace(/^\//, ''));
  const parts = {
    'user name': decoded(url.username),
    password: decoded(url.password),
    host,
    'database name': database,
  };
  for (const [part, value] of Object.entries(parts)) {
    if (value === undefined) {
      problems.push(
        `${variable} has a malformed %-escape in its ${part} (write special characters as %XX, e.g. %40 for @)`,
      );
    }
  }
  if (database === '') problems.push(`${variable} has no database name (add /<database> after the host)`);
  const sslMode = url.searchParams.get('sslmode');
  if (sslMode !== null && !SSL_MODES.includes(sslMode as SslMode)) {
    problems.push(`${variable} has sslmode=${sslMode}; expected one of ${SSL_MODES.join(', ')}`);
  }
  const channelBinding = url.searchParams.get('channel_binding');
  if (channelBinding !== null && !['disable', 'prefer', 'require'].includes(channelBinding)) {
    problems.push(`${variable} has channel_binding=${channelBinding}; expected disable, prefer or require`);
  }
  checkTlsWanted(url, sslMode, variable, problems);
  checkSystemRoots(url, sslMode, variable, problems);
  const certificateFiles = readCertificateFiles(url, variable, problems);
  if (problems.length > 0 || host === undefined || database === undefined) return { problems };

  const driverOptions: ParsedConnectionUrl['driverOptions'] = {};
  if (sslMode !== null) driverOptions.ssl = tlsFor(sslMode as SslMode, certificateFiles);
  if (channelBinding === 'require' || channelBinding === 'prefer') driverOptions.enableChannelBinding = true;
  // pg binds only when offered; `require` also refuses a login that is not bound, as libpq does.
  if (channelBinding === 'require') driverOptions.Client = ChannelBindingClient;
  const applicationName = url.searchParams.get('application_name');
  if (applicationName) driverOptions.application_name = applicationName;

  const port = url.port ? Number(url.port) : 5432;
  const clientUrl = new URL(url.href);
  clientUrl.search = '';
  clientUrl.port = String(port);
  return {
    url: { clientUrl: clientUrl.href, host, port, database, driverOptions },
  };
}

/**
 * MikroORM decodes these parts of `clientUrl` itself and would throw a raw `URIError` on a bad
 * escape (whose message could not say which variable, or part, is wrong).
 */
function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
