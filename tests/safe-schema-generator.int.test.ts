import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDatabaseConfig } from '../src/index.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const Invoice = defineEntity({
  name: 'Invoice',
  properties: { id: p.integer().primary(), total: p.integer() },
});

/** What `npx mikro-orm schema:update` passes unless told otherwise. */
const CLI_DEFAULTS = { safe: false, dropTables: true };

describe('orm.schema of an ORM configured by loadDatabaseConfig', () => {
  let db: IsolatedDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await testDatabase.create('safe_schema');
  });

  afterEach(async () => {
    await orm?.close(true);
  });

  afterAll(async () => {
    await db.drop();
  });

  const openOrm = async () => {
    const { lifecycle: _lifecycle, ...options } = loadDatabaseConfig({ entities: [Invoice] }, db.env());
    orm = new MikroORM(options);
    await orm.connect();
    return orm;
  };

  it('update() with MikroORM destructive defaults keeps foreign tables, unmapped columns and our fingerprint', async () => {
    await db.query('create table other_service (id int primary key, payload text not null)');
    await db.query("insert into other_service values (1, 'theirs')");
    await db.query('create table inversify_mikro_orm_schema (id int primary key, fingerprint text not null)');
    await db.query("insert into inversify_mikro_orm_schema values (1, 'f')");
    await db.query('create table invoice (id int primary key, total int not null, old_total int not null)');
    await db.query('insert into invoice values (1, 10, 9)');
    const schema = (await openOrm()).schema;

    const planned = await schema.getUpdateSchemaSQL(CLI_DEFAULTS);
    expect(planned).not.toMatch(/\b(drop\s+(table|column)|rename)\b/i);
    await schema.update(CLI_DEFAULTS);

    expect(await db.query('select * from other_service')).toEqual([{ id: 1, payload: 'theirs' }]);
    expect(await db.query('select * from inversify_mikro_orm_schema')).toEqual([{ id: 1, fingerprint: 'f' }]);
    expect(await db.query('select * from invoice')).toEqual([{ id: 1, total: 10, old_total: 9 }]);
    await db.query('insert into invoice (id, total) values (2, 20)');
  });

  it('leaves our fingerprint table out of migration diffs too', async () => {
    const { up, down } = await (await openOrm()).schema.getUpdateSchemaMigrationSQL();
    expect(`${up}\n${down}`).not.toContain('inversify_mikro_orm_schema');
  });
});
