import { randomBytes } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import { InversifyMikroOrmError } from '../errors.js';
import { pg } from '../mikro-orm-pg.js';

/** A database of its own for one test file or worker, so tests run in parallel without seeing each other. */
export interface TestDatabase {
  readonly name: string;
  /** The full URL, credentials included: never print it. */
  readonly url: string;
  /**
   * Environment for `loadDatabaseConfig` pointing at this database: `{ DATABASE_URL }`, or with a
   * prefix `{ REPORTS_DATABASE_URL }`, plus `extra`.
   */
  env(extra?: Record<string, string>, prefix?: string): Record<string, string>;
  /** Runs SQL on this database over a connection of its own (to check what was really committed). */
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Part of the generated name, to recognise the database (the test file, the worker). */
  label?: string;
  /** A database to copy (`CREATE DATABASE ... TEMPLATE`): schema and rows, far faster than migrating. */
  template?: string;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.href;
}

async function query<R extends QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'inversify-mikro-orm-testing' });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

function uniqueName(label: string): string {
  const readable = label.replace(/\W/g, '_').slice(0, 30);
  return `t_${readable}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

/**
 * Creates an empty database on the server of `serverUrl` (an administrator's URL: it needs
 * CREATEDB), or a copy of `template`. Each call gets a unique name.
 */
export async function createTestDatabase(
  serverUrl: string,
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const name = uniqueName(options.label ?? 'test');
  const from = options.template === undefined ? '' : ` template ${quote(options.template)}`;
  await query(serverUrl, `create database ${quote(name)}${from}`);
  const url = withDatabase(serverUrl, name);
  return Object.freeze({
    name,
    url,
    env: (extra: Record<string, string> = {}, prefix = '') => ({ [`${prefix}DATABASE_URL`]: url, ...extra }),
    query: <R extends QueryResultRow>(sql: string, params?: unknown[]) => query<R>(url, sql, params),
    drop: async () => {
      await query(serverUrl, `drop database if exists ${quote(name)} with (force)`);
    },
  });
}

const SETTLE_MS = 5000;

/** PostgreSQL copies a database only when nobody is connected to it; a closed pool's backends take a moment to go. */
async function waitUntilUnused(database: TestDatabase, serverUrl: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const [row] = await query<{ count: string }>(
      serverUrl,
      'select count(*) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database.name],
    );
    if (Number(row?.count) === 0) return;
    if (Date.now() > deadline) {
      throw new InversifyMikroOrmError(
        'lifecycle',
        `The template database "${database.name}" still has ${row?.count} connection(s) ${SETTLE_MS} ms after prepare() returned; stop the AppLifecycle (or close the ORM) inside prepare(). Through a connection pooler (PgBouncer, a pooled Neon URL) the pooler's own connections count too: give createTemplateDatabase the server's direct URL.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Creates a database and lets `prepare` bring it to the state every test starts from (schema,
 * migrations, reference rows), so each test file or worker can then copy it cheaply with
 * `createTestDatabase(serverUrl, { template: template.name })`. Create it once per run (a global
 * setup), drop it at the end. `prepare` must close its connections before it returns.
 */
export async function createTemplateDatabase(
  serverUrl: string,
  prepare: (database: TestDatabase) => Promise<void>,
  options: Pick<CreateTestDatabaseOptions, 'label'> = {},
): Promise<TestDatabase> {
  const template = await createTestDatabase(serverUrl, { label: options.label ?? 'template' });
  try {
    await prepare(template);
    await waitUntilUnused(template, serverUrl);
  } catch (error) {
    await template.drop();
    throw error;
  }
  return template;
}
