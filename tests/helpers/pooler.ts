import pg from 'pg';

/**
 * `TEST_DATABASE_POOLER=pgbouncer` says TEST_DATABASE_URL goes through a PgBouncer in transaction
 * mode (the CI step `npm test (PostgreSQL 15 through PgBouncer)`). PgBouncer's server connections
 * carry whichever client's application_name used them last and stay open after their clients leave,
 * so a test reads the library's connections where they end: PgBouncer's clients, from its admin
 * console (database `pgbouncer` on the same host and port, the URL's user in `admin_users`).
 */
export function throughPgBouncer(): boolean {
  const pooler = process.env.TEST_DATABASE_POOLER?.trim();
  if (!pooler) return false;
  if (pooler !== 'pgbouncer') throw new Error(`TEST_DATABASE_POOLER must be "pgbouncer" or unset (got "${pooler}")`);
  return true;
}

/**
 * For `it.skipIf(...)`: true, and says so on the console with `reason`, when the run goes through
 * PgBouncer and the check cannot hold there. Never true without TEST_DATABASE_POOLER.
 */
export function cannotHoldThroughPgBouncer(check: string, reason: string): boolean {
  if (!throughPgBouncer()) return false;
  console.warn(`[TEST_DATABASE_POOLER=pgbouncer] skipped "${check}": ${reason}`);
  return true;
}

export interface PgBouncerClient {
  database: string;
  application_name: string;
  /** The client's own port: unique among the open connections. */
  port: number;
}

function adminUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/pgbouncer';
  url.search = '';
  return url.href;
}

/** Runs one admin console command (simple protocol only, as the console requires). */
export async function pgBouncerAdmin<R extends pg.QueryResultRow>(databaseUrl: string, command: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: adminUrl(databaseUrl) });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `TEST_DATABASE_POOLER=pgbouncer, but PgBouncer's admin console refused ${new URL(databaseUrl).username || 'the user'}: put the user in admin_users (${(error as Error).message})`,
      { cause: error },
    );
  }
  try {
    return (await client.query<R>(command)).rows;
  } finally {
    await client.end();
  }
}

/** PgBouncer's client connections (`SHOW CLIENTS`, application_name since 1.18), the console's own excluded. */
export async function pgBouncerClients(databaseUrl: string): Promise<PgBouncerClient[]> {
  const rows = await pgBouncerAdmin<PgBouncerClient & { type: string }>(databaseUrl, 'SHOW CLIENTS');
  return rows.filter((row) => row.database !== 'pgbouncer');
}

/**
 * What `pg_terminate_backend` on every backend of a database is without a pooler: PgBouncer drops
 * every client and server connection of that database (`KILL`), then lets new ones in (`RESUME`).
 */
export async function pgBouncerDropConnections(databaseUrl: string, database: string): Promise<void> {
  // The console takes a bare name; test databases' names are made of these characters only.
  if (!/^\w+$/.test(database)) throw new Error(`cannot name database "${database}" on PgBouncer's console`);
  await pgBouncerAdmin(databaseUrl, `KILL ${database}`);
  await pgBouncerAdmin(databaseUrl, `RESUME ${database}`);
}
