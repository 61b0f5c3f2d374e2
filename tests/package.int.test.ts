import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './helpers/run-command.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

/** The snippet of shared/design.md, verbatim, with the entity it refers to defined above it. */
const DESIGN_SNIPPET = `
import { defineEntity, p } from '@mikro-orm/core';
const Task = defineEntity({ name: 'Task', properties: { id: p.integer().primary(), title: p.string() } });

import { Container } from 'inversify';
import { MikroORM } from '@mikro-orm/postgresql';
import { AppLifecycle, Session, databaseModule, loadDatabaseConfig } from 'inversify-mikro-orm';

const container = new Container();
container.load(databaseModule(loadDatabaseConfig({ entities: [Task] }))); // synchronous load
await container.get(AppLifecycle).start(); // connect (with retry), schema update (safe, locked)
const orm = container.get(MikroORM);       // the one singleton ORM (lazy-connecting, built sync)
const em = container.get(Session);         // a forked EntityManager, request scope
await container.get(AppLifecycle).stop();  // stop hooks in reverse order, then orm.close()

console.log(JSON.stringify({ ormIsSingleton: orm === container.get(MikroORM), forked: em !== orm.em }));
`;

describe('the published package, used from outside the repository', () => {
  let db: IsolatedDatabase;
  let workdir: string;

  beforeAll(async () => {
    db = await testDatabase.create('package');
    workdir = await mkdtemp(path.join(tmpdir(), 'inversify-mikro-orm-consumer-'));
  });

  afterAll(async () => {
    await rm(workdir, { recursive: true, force: true });
    await db.drop();
  });

  it('installs from its tarball and runs the design.md snippet as written', { timeout: 180_000 }, async () => {
    const pack = await runCommand('npm', ['pack', '--pack-destination', workdir], { timeoutMs: 60_000 });
    expect(pack.code, pack.stderr).toBe(0);
    const tarball = (await readdir(workdir)).find((file) => file.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    await writeFile(
      path.join(workdir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    const install = await runCommand(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        `./${tarball}`,
        'inversify@8.2.3',
        '@mikro-orm/core@7.2.1',
        '@mikro-orm/postgresql@7.2.1',
      ],
      { cwd: workdir, timeoutMs: 170_000 },
    );
    expect(install.code, install.stderr).toBe(0);

    await writeFile(path.join(workdir, 'snippet.ts'), DESIGN_SNIPPET);
    const run = await runCommand(process.execPath, ['snippet.ts'], { cwd: workdir, env: { DATABASE_URL: db.url } });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '')).toEqual({ ormIsSingleton: true, forked: true });
    expect(await db.query("select to_regclass('task') is not null as created")).toEqual([{ created: true }]);
  });
});
