import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { asServerUser, assertServerBinaries, chownToServerUser, queryOnce } from './local-postgres.js';
import { freePort } from './ports.js';

/**
 * A throwaway PostgreSQL 15 primary with one streaming replica (`pg_basebackup -R`), both in a
 * temporary folder on free ports: the shared server is never touched. Trust authentication on
 * 127.0.0.1 only, so URLs carry no password.
 */
export interface ReplicaCluster {
  readonly primaryPort: number;
  readonly replicaPort: number;
  primaryUrl(database: string): string;
  replicaUrl(database: string): string;
  primaryQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<R[]>;
  replicaQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<R[]>;
  /** Creates a database on the primary and waits until the replica has it. */
  createDatabase(name: string): Promise<void>;
  /** Waits until the replica has replayed everything the primary has written so far. */
  waitForReplay(): Promise<void>;
  /** The replica keeps receiving WAL but applies none of it: its data stays as it is now (deterministic lag). */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** `pg_ctl stop -m immediate`: the replica dies at once, as a crash would; its clients see their sockets close. */
  killReplica(): Promise<void>;
  /** Starts the replica again (crash recovery, then streaming); resolves once it accepts connections. */
  startReplica(): Promise<void>;
  stop(): Promise<void>;
}

const PRIMARY_SETTINGS = [
  "listen_addresses='127.0.0.1'",
  'wal_level=replica',
  'max_wal_senders=4',
  // The replica may be down for a while in a test; the WAL it misses must still be there when it returns.
  'wal_keep_size=256',
  'max_connections=80',
  'shared_buffers=16MB',
  'fsync=off',
];

export async function startReplicaCluster(): Promise<ReplicaCluster> {
  assertServerBinaries(['initdb', 'pg_ctl', 'pg_basebackup'], 'The read replica tests');
  const dir = mkdtempSync(path.join(tmpdir(), 'replica-pg-'));
  const primaryData = path.join(dir, 'primary');
  const replicaData = path.join(dir, 'replica');
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const connection = (port: number, database = 'postgres') => ({ host: '127.0.0.1', port, user: 'postgres', database });
  const pgCtl = (dataDir: string, ...args: string[]) =>
    asServerUser('pg_ctl', [...args, '-D', dataDir, '-l', `${dataDir}.log`, '-w', '-t', '60']);
  const running = { primary: false, replica: false };

  const stop = async () => {
    for (const [name, dataDir] of [
      ['replica', replicaData],
      ['primary', primaryData],
    ] as const) {
      if (running[name]) await pgCtl(dataDir, 'stop', '-m', 'immediate').catch(() => undefined);
      running[name] = false;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const primaryQuery = <R extends pg.QueryResultRow>(sql: string, params?: unknown[], database?: string) =>
    queryOnce<R>(connection(primaryPort, database), sql, params);
  const replicaQuery = <R extends pg.QueryResultRow>(sql: string, params?: unknown[], database?: string) =>
    queryOnce<R>(connection(replicaPort, database), sql, params);

  const waitForReplay = async () => {
    const [{ lsn }] = (await primaryQuery<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')) as [
      { lsn: string },
    ];
    for (let attempt = 0; attempt < 600; attempt++) {
      const [row] = await replicaQuery<{ caught_up: boolean }>(
        'select pg_last_wal_replay_lsn() >= $1::pg_lsn as caught_up',
        [lsn],
      );
      if (row?.caught_up) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the replica did not replay up to ${lsn} within 30 s`);
  };

  try {
    await chownToServerUser(dir);
    await asServerUser('initdb', ['-D', primaryData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    writeFileSync(
      path.join(primaryData, 'pg_hba.conf'),
      'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n',
    );
    writeFileSync(
      path.join(primaryData, 'postgresql.auto.conf'),
      [...PRIMARY_SETTINGS, `port=${primaryPort}`, `unix_socket_directories='${dir}'`, ''].join('\n'),
    );
    await chownToServerUser(primaryData);
    await pgCtl(primaryData, 'start');
    running.primary = true;
    // -R writes primary_conninfo and standby.signal; the copied settings then get the replica's own port.
    await asServerUser('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaData,
      '-R',
      '-X',
      'stream',
    ]);
    appendFileSync(path.join(replicaData, 'postgresql.auto.conf'), `port=${replicaPort}\n`);
    await pgCtl(replicaData, 'start');
    running.replica = true;
  } catch (error) {
    await stop();
    throw error;
  }

  const url = (port: number, database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  return {
    primaryPort,
    replicaPort,
    primaryUrl: (database) => url(primaryPort, database),
    replicaUrl: (database) => url(replicaPort, database),
    primaryQuery,
    replicaQuery,
    async createDatabase(name) {
      await primaryQuery(`create database "${name}"`);
      await waitForReplay();
    },
    waitForReplay,
    pauseReplay: async () => void (await replicaQuery('select pg_wal_replay_pause()')),
    resumeReplay: async () => void (await replicaQuery('select pg_wal_replay_resume()')),
    async killReplica() {
      await pgCtl(replicaData, 'stop', '-m', 'immediate');
      running.replica = false;
    },
    async startReplica() {
      await pgCtl(replicaData, 'start');
      running.replica = true;
    },
    stop,
  };
}
