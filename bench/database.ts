import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig } from 'inversify-mikro-orm';
import pg from 'pg';
import { TaskSchema } from '../src/app/task.entity.js';

/**
 * The PostgreSQL the benchmarks run against: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the
 * local server on 127.0.0.1:5432. Every run creates its own `bench_*` databases and drops them.
 */
export function serverUrl(): string {
  return (
    process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'
  );
}

export function databaseUrl(database: string, applicationName?: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  url.search = '';
  if (applicationName) url.searchParams.set('application_name', applicationName);
  return url.href;
}

export async function query<R extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-admin' });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export class BenchDatabase {
  private constructor(readonly name: string) {}

  static async create(label: string): Promise<BenchDatabase> {
    const name = `bench_${label}_${randomBytes(3).toString('hex')}`;
    await query(serverUrl(), `create database "${name}"`);
    return new BenchDatabase(name);
  }

  url(applicationName?: string): string {
    return databaseUrl(this.name, applicationName);
  }

  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return query<R>(this.url(), sql, params);
  }

  /** The task table exactly as the service creates it (its own schema sync), then `rows` tasks. */
  async prepareTasks(rows: number): Promise<void> {
    const container = new Container();
    const config = loadDatabaseConfig({ entities: [TaskSchema] }, { DATABASE_URL: this.url(), DB_POOL_MIN: '1' });
    container.load(databaseModule(config));
    const lifecycle = container.get(AppLifecycle);
    await lifecycle.start();
    await lifecycle.stop();
    await this.query(
      `insert into task (title, done, created_at, updated_at)
       select 'task ' || g, g % 2 = 0, now(), now() from generate_series(1, $1::int) g`,
      [rows],
    );
    await this.query('vacuum analyze task');
  }

  drop(): Promise<unknown> {
    return query(serverUrl(), `drop database if exists "${this.name}" with (force)`);
  }
}
