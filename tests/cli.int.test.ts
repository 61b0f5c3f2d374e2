import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './helpers/run-command.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const mikroOrm = (db: IsolatedDatabase, ...args: string[]) =>
  runCommand('npx', ['mikro-orm', ...args], { env: { DATABASE_URL: db.url, FORCE_COLOR: '0' } });

describe('the MikroORM CLI on mikro-orm.config.ts', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('cli');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('npx mikro-orm debug finds the config and connects', async () => {
    const result = await mikroOrm(db, 'debug');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mikro-orm.config.ts (found)');
    expect(result.stdout).toContain('database connection successful');
  });

  it('npx mikro-orm schema:update --dump prints the Task table without applying it', async () => {
    const result = await mikroOrm(db, 'schema:update', '--dump');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('create table "task"');
    expect(await db.query("select to_regclass('task') as t")).toEqual([{ t: null }]);
  });
});

describe('npx mikro-orm schema:update on a database shared with other tables', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('cli_shared');
    // Another service's table, our fingerprint table, and a column our entities no longer map.
    await db.query('create table billing_invoices (id int primary key, amount_cents int not null)');
    await db.query('insert into billing_invoices values (1, 1250), (2, 990)');
    await db.query(
      'create table inversify_mikro_orm_schema (id int primary key, fingerprint text not null, updated_at timestamptz not null default now())',
    );
    await db.query("insert into inversify_mikro_orm_schema (id, fingerprint) values (1, 'abc')");
    await db.query(
      'create table task (id serial primary key, title varchar(200) not null, legacy_note text not null, created_at timestamptz not null, updated_at timestamptz not null)',
    );
    await db.query(
      "insert into task (title, legacy_note, created_at, updated_at) values ('old', 'keep me', now(), now())",
    );
  });

  afterAll(async () => {
    await db.drop();
  });

  it('--dump plans no drop, and never mentions our fingerprint table or the foreign table', async () => {
    const result = await mikroOrm(db, 'schema:update', '--dump');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/\bdrop\s+(table|column)\b/i);
    expect(result.stdout).not.toContain('billing_invoices');
    expect(result.stdout).not.toContain('inversify_mikro_orm_schema');
    expect(result.stdout).not.toMatch(/rename/i);
    expect(result.stdout).toContain('add "done" boolean');
  });

  it('--run adds what is missing and keeps the foreign table, its rows, the unmapped column and the fingerprint', async () => {
    const result = await mikroOrm(db, 'schema:update', '--run');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Schema successfully updated');

    expect(await db.query('select id, amount_cents from billing_invoices order by id')).toEqual([
      { id: 1, amount_cents: 1250 },
      { id: 2, amount_cents: 990 },
    ]);
    expect(await db.query('select fingerprint from inversify_mikro_orm_schema')).toEqual([{ fingerprint: 'abc' }]);
    expect(await db.query('select title, legacy_note, done from task')).toEqual([
      { title: 'old', legacy_note: 'keep me', done: false },
    ]);
    // Still NOT NULL would break every insert by the current code, which does not know the column.
    await db.query("insert into task (title, created_at, updated_at) values ('new', now(), now())");
  });
});
