import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './helpers/run-command.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

describe('the MikroORM CLI on mikro-orm.config.ts', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('cli');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('npx mikro-orm debug finds the config and connects', async () => {
    const result = await runCommand('npx', ['mikro-orm', 'debug'], { env: { DATABASE_URL: db.url, FORCE_COLOR: '0' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mikro-orm.config.ts (found)');
    expect(result.stdout).toContain('database connection successful');
  });

  it('npx mikro-orm schema:update --dump prints the Task table without applying it', async () => {
    const result = await runCommand('npx', ['mikro-orm', 'schema:update', '--dump'], {
      env: { DATABASE_URL: db.url, FORCE_COLOR: '0' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('create table "task"');
    expect(await db.query("select to_regclass('task') as t")).toEqual([{ t: null }]);
  });
});
