import type { Configuration } from '@mikro-orm/core';
import { causeChain } from './database-errors.js';
import { InversifyMikroOrmError, isInversifyMikroOrmError } from './errors.js';
import { isMissingDatabaseError, missingDatabaseError } from './missing-database.js';

/** OpenSSL/Node codes of a server certificate that does not verify: the same certificate will fail again. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
]);
const HOST_MISMATCH_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

interface Link {
  code: string;
  message: string;
}

/** What the failed attempt was: where it went, and whether DATABASE_URL turned TLS off on purpose. */
interface Attempt {
  endpoint: string;
  sslDisabled: boolean;
}

interface Rule {
  applies(link: Link): boolean;
  /** What went wrong and how to fix it; `message` is the server's or driver's text (never holds a password). */
  explain(attempt: Attempt, link: Link): string;
}

/**
 * Failures that fail the same way on every attempt: wrong credentials, a login the server does not
 * allow, TLS that cannot be verified or negotiated. Anything else (refused, reset, timeouts, a server
 * starting up or out of connection slots, an unknown host that DNS may resolve later) may pass.
 */
const PERMANENT: Rule[] = [
  {
    applies: ({ code }) => code === '28P01',
    explain: ({ endpoint }, { message }) =>
      `PostgreSQL at ${endpoint} rejected the password (${message}). Fix the user or password in DATABASE_URL (percent-encode special characters such as @, : or /).`,
  },
  {
    applies: ({ code, message }) => code === '28000' && /no encryption/i.test(message),
    explain: ({ endpoint, sslDisabled }, { message }) =>
      sslDisabled
        ? `PostgreSQL at ${endpoint} accepts only TLS connections (${message}), and DATABASE_URL has sslmode=disable: change it to sslmode=require (or sslmode=verify-full with sslrootcert=<CA file> to also verify the server).`
        : `PostgreSQL at ${endpoint} accepts only TLS connections (${message}). Add ?sslmode=require to DATABASE_URL (or sslmode=verify-full with sslrootcert=<CA file> to also verify the server).`,
  },
  {
    // libpq and pg bind a SCRAM login to the certificate of the TLS connection they see.
    applies: ({ message }) => /channel binding check failed/i.test(message),
    explain: ({ endpoint }, { message }) =>
      `PostgreSQL at ${endpoint} rejected the login's channel binding (${message}): the TLS connection this process sees is not the server's own, so something in between re-encrypts it (a TLS-terminating proxy or load balancer, or an attacker). Connect to the server directly; only if that proxy is yours and trusted, set channel_binding=disable with sslmode=verify-full.`,
  },
  {
    applies: ({ code }) => code === '28000',
    explain: ({ endpoint }, { message }) =>
      `PostgreSQL at ${endpoint} refused the login (${message}). Check the user and database in DATABASE_URL, or have the server allow them (pg_hba.conf, the role's LOGIN attribute).`,
  },
  {
    applies: ({ code }) => code === '42501',
    explain: ({ endpoint }, { message }) =>
      `PostgreSQL at ${endpoint} denied access (${message}). Grant the user what it needs (e.g. GRANT CONNECT ON DATABASE ...) or use another user in DATABASE_URL.`,
  },
  {
    applies: ({ code }) => CERTIFICATE_CODES.has(code),
    explain: ({ endpoint }, { code, message }) =>
      `The TLS certificate of PostgreSQL at ${endpoint} could not be verified (${code}: ${message}). With sslmode=verify-full or verify-ca, add sslrootcert=<file of the CA that signed it> to DATABASE_URL; sslmode=require encrypts without verifying the certificate.`,
  },
  {
    applies: ({ code }) => HOST_MISMATCH_CODES.has(code),
    explain: ({ endpoint }, { message }) =>
      `The TLS certificate of PostgreSQL at ${endpoint} is for another host name (${message}). Connect with a host name the certificate lists, or use sslmode=verify-ca to verify the chain but not the name.`,
  },
  {
    applies: ({ message }) => /server does not support SSL/i.test(message),
    explain: ({ endpoint }, { message }) =>
      `PostgreSQL at ${endpoint} does not accept TLS, and DATABASE_URL asks for it with sslmode (${message}). Enable TLS on the server (ssl=on), or remove sslmode from DATABASE_URL only if the network to it is trusted.`,
  },
  {
    applies: ({ message }) => /^SASL:|client password must be a string/i.test(message),
    explain: ({ endpoint }, { message }) =>
      `Authentication with PostgreSQL at ${endpoint} failed (${message}). Check that DATABASE_URL has the right password, and its channel_binding setting.`,
  },
];

/**
 * The error to fail a connection attempt with at once, or `undefined` when the failure may pass
 * and the attempt is worth repeating. Messages name the endpoint (never the URL: it holds the
 * password), the cause, and the likely fix.
 */
export function permanentConnectError(
  error: unknown,
  config: Configuration,
  endpoint: string,
): InversifyMikroOrmError | undefined {
  if (isMissingDatabaseError(error)) return missingDatabaseError(config, error);
  const attempt = { endpoint, sslDisabled: config.get('driverOptions')?.ssl === false };
  for (const link of causeChain(error)) {
    if (isInversifyMikroOrmError(link, 'config')) return link;
    const found = { code: typeof link.code === 'string' ? link.code : '', message: String(link.message ?? '') };
    const rule = PERMANENT.find((candidate) => candidate.applies(found));
    if (rule) {
      return new InversifyMikroOrmError(
        'config',
        `${rule.explain(attempt, found)} Not retried: retrying cannot fix this.`,
        {
          cause: error,
        },
      );
    }
  }
  return undefined;
}
