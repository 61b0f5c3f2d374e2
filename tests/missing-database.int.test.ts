import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Container } from 'inversify';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AppLifecycle,
  databaseModule,
  InversifyMikroOrmError,
  loadDatabaseConfig,
  Session,
  withSession,
} from '../src/index.js';
import { Note } from './helpers/entities.js';
import { runCommand } from './helpers/run-command.js';
import { testDatabase } from './helpers/test-database.js';

/** The server's password, or one trust auth ignores: only a leak could make it appear in an error. */
const PASSWORD = decodeURIComponent(new URL(testDatabase.serverUrl).password) || 'Missing-Db-Secret-41';
const created: string[] = [];

/** A URL to a database that does not exist (a typo), with a password in it. */
function missingDatabase(): { name: string; url: string; host: string; port: string } {
  const name = `t_typo_${randomBytes(4).toString('hex')}`;
  created.push(name);
  const url = new URL(testDatabase.serverUrl);
  url.pathname = `/${name}`;
  url.password = PASSWORD;
  return { name, url: url.href, host: url.hostname, port: url.port || '5432' };
}

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: testDatabase.serverUrl });
  await client.connect();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

function containerFor(url: string, env: Record<string, string> = {}): Container {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, { DATABASE_URL: url, ...env })));
  return container;
}

function expectMissingDatabaseError(error: unknown, target: ReturnType<typeof missingDatabase>): void {
  expect(error).toBeInstanceOf(InversifyMikroOrmError);
  const { kind, message } = error as InversifyMikroOrmError;
  expect(kind).toBe('config');
  expect(message).toContain(`no database named "${target.name}"`);
  expect(message).toContain(`${target.host}:${target.port}`);
  expect(message).toContain(`createdb -h ${target.host} -p ${target.port} ${target.name}`);
  expect(message).toContain('DB_CREATE_DATABASE=true');
  expect(message).not.toContain(PASSWORD);
}

describe('a DATABASE_URL naming a database that does not exist', () => {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: testDatabase.serverUrl });
    await client.connect();
    for (const name of created) await client.query(`drop database if exists "${name}" with (force)`);
    await client.end();
  });

  it('fails start() at once with a config error naming database, host and port, and creates nothing', async () => {
    const target = missingDatabase();
    const lifecycle = containerFor(target.url, { DB_CONNECT_TIMEOUT_MS: '20000' }).get(AppLifecycle);
    let retries = 0;
    lifecycle.useLogger({ info: () => undefined, error: () => undefined, warn: () => void retries++ });
    const began = Date.now();
    const error = await lifecycle.start().catch((caught: unknown) => caught);
    const elapsedMs = Date.now() - began;

    expectMissingDatabaseError(error, target);
    expect(retries).toBe(0);
    expect(elapsedMs).toBeLessThan(2000);
    expect(await databaseExists(target.name)).toBe(false);
  });

  it('fails a withSession() query with the same error, and creates nothing', async () => {
    const target = missingDatabase();
    const container = containerFor(target.url);
    try {
      const error = await withSession(container, (session) => session.count(Note)).catch((caught: unknown) => caught);
      expectMissingDatabaseError(error, target);
      await expect(container.get(Session).find(Note, {})).rejects.toThrow(/no database named/);
    } finally {
      await container.get(AppLifecycle).stop();
    }
    expect(await databaseExists(target.name)).toBe(false);
  });

  it('makes the MikroORM CLI (debug, schema:update --dump) report it, and creates nothing', async () => {
    const target = missingDatabase();
    const env = { DATABASE_URL: target.url, FORCE_COLOR: '0' };

    const debug = await runCommand('npx', ['mikro-orm', 'debug'], { env });
    expect(debug.stdout).toContain('database connection failed');
    expect(await databaseExists(target.name)).toBe(false);

    const dump = await runCommand('npx', ['mikro-orm', 'schema:update', '--dump'], { env });
    expect(dump.code).not.toBe(0);
    expect(dump.stdout + dump.stderr).toContain(`no database named "${target.name}"`);
    expect(dump.stdout + dump.stderr).not.toContain(PASSWORD);
    expect(await databaseExists(target.name)).toBe(false);
  });

  it('makes `npx mikro-orm database:create` say to set DB_CREATE_DATABASE=true for it, and create it when set', async () => {
    const target = missingDatabase();
    const env = { DATABASE_URL: target.url, FORCE_COLOR: '0' };

    const refused = await runCommand('npx', ['mikro-orm', 'database:create'], { env });
    const output = refused.stdout + refused.stderr;
    expect(refused.code).not.toBe(0);
    expect(output).toContain(`no database named "${target.name}"`);
    expect(output).toContain('Set DB_CREATE_DATABASE=true for this command');
    expect(output).not.toContain('nothing was created');
    expect(output).not.toContain(PASSWORD);
    expect(await databaseExists(target.name)).toBe(false);

    const created = await runCommand('npx', ['mikro-orm', 'database:create'], {
      env: { ...env, DB_CREATE_DATABASE: 'true' },
    });
    expect(created.code, created.stdout + created.stderr).toBe(0);
    expect(await databaseExists(target.name)).toBe(true);
  });

  it('is created on start() when DB_CREATE_DATABASE=true asks for it', async () => {
    const target = missingDatabase();
    const lifecycle = containerFor(target.url, { DB_CREATE_DATABASE: 'true' }).get(AppLifecycle);
    try {
      await lifecycle.start();
    } finally {
      await lifecycle.stop();
    }
    expect(await databaseExists(target.name)).toBe(true);
  });

  it('is created when the ensureDatabase override asks for it', async () => {
    const target = missingDatabase();
    const container = new Container();
    container.load(
      databaseModule(loadDatabaseConfig({ entities: [Note], ensureDatabase: true }, { DATABASE_URL: target.url })),
    );
    const lifecycle = container.get(AppLifecycle);
    try {
      await lifecycle.start();
    } finally {
      await lifecycle.stop();
    }
    expect(await databaseExists(target.name)).toBe(true);
  });
});
