import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/** What tests need to start throwaway PostgreSQL 15 servers of their own (never the shared one). */

const run = promisify(execFile);

export const PG_BIN = process.env.TLS_CLUSTER_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** initdb and the server refuse to run as root: as root, they run as this OS user. */
export const SERVER_OS_USER = 'postgres';

/** Fails (never skips) when a server binary is missing, saying what to install. */
export function assertServerBinaries(binaries: string[], purpose: string): void {
  const missing = binaries.map((binary) => path.join(PG_BIN, binary)).filter((file) => !isExecutable(file));
  if (missing.length > 0) {
    throw new Error(
      `${purpose} need PostgreSQL 15's server binaries and cannot find ${missing.join(', ')}: install postgresql-15 (apt-get install -y postgresql-15) or set TLS_CLUSTER_PG_BIN to the folder holding them.`,
    );
  }
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && isExecutable(path.join(dir, command)));
}

/** Hands a folder to the server's OS user, when running as root. */
export async function chownToServerUser(dir: string): Promise<void> {
  if (process.getuid?.() === 0) await run('chown', ['-R', `${SERVER_OS_USER}:`, dir]);
}

/** Runs a PostgreSQL binary; as root, as the server's OS user (initdb and postgres refuse root). */
export async function asServerUser(binary: string, args: string[]): Promise<void> {
  const file = path.join(PG_BIN, binary);
  const [command, commandArgs] =
    process.getuid?.() === 0 ? ['runuser', ['-u', SERVER_OS_USER, '--', file, ...args]] : [file, args];
  try {
    await run(command, commandArgs, { cwd: tmpdir() });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${binary} ${args[0]} failed: ${stderr || stdout || (error as Error).message}`);
  }
}

/** One statement on a connection of its own. */
export async function queryOnce<R extends pg.QueryResultRow>(
  connection: pg.ClientConfig,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
