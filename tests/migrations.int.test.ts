import 'reflect-metadata';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MigrationsOptions } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { Container } from 'inversify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appMigrations } from '../src/app/database-config.js';
import { TaskSchema } from '../src/app/task.entity.js';
import { AppLifecycle, databaseModule, InversifyMikroOrmError, loadDatabaseConfig, Session } from '../src/index.js';
import { serverConnections } from './helpers/database-container.js';
import { runCommand } from './helpers/run-command.js';
import { ServiceProcess } from './helpers/service-process.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A lifecycle in migrate mode on `db` (not started), with the example's migrations unless told otherwise. */
function migratingLifecycle(
  db: IsolatedDatabase,
  migrations: MigrationsOptions = appMigrations,
  applicationName?: string,
) {
  const container = new Container();
  const config = loadDatabaseConfig(
    {
      entities: [TaskSchema],
      migrations: { silent: true, ...migrations },
      ...(applicationName && { driverOptions: { application_name: applicationName } }),
    },
    db.env({ DB_SCHEMA_UPDATE: 'migrate', DB_POOL_MIN: '1' }),
  );
  container.load(databaseModule(config));
  return { container, lifecycle: container.get(AppLifecycle).useLogger(quiet) };
}

async function bootOnce(db: IsolatedDatabase, migrations?: MigrationsOptions) {
  const { lifecycle } = migratingLifecycle(db, migrations);
  await lifecycle.start();
  const outcome = lifecycle.schemaOutcome;
  await lifecycle.stop();
  return outcome;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function appliedMigrations(db: IsolatedDatabase): Promise<string[]> {
  const rows = await db.query<{ name: string }>('select name from mikro_orm_migrations order by id');
  return rows.map((row) => row.name);
}

async function tableExists(db: IsolatedDatabase, table: string): Promise<boolean> {
  const [row] = await db.query<{ found: string | null }>('select to_regclass($1)::text as found', [table]);
  return row?.found != null;
}

/** The example's migrations as shipped: every `.ts` file of its migrations folder. */
async function shippedMigrations(): Promise<string[]> {
  const files = await readdir(String(appMigrations.path));
  return files.filter((file) => file.endsWith('.ts')).map((file) => file.replace(/\.ts$/, ''));
}

class CreateLedger extends Migration {
  override up(): void {
    this.addSql('create table ledger (id serial primary key, note text not null)');
  }
}

/** Not idempotent: applied twice, it would fail (the column exists) or leave two rows. */
class SeedLedger extends Migration {
  override up(): void {
    this.addSql("insert into ledger (note) values ('seeded once')");
    this.addSql('alter table ledger add column amount_cents int not null default 0');
  }
}

/** Its first statement succeeds, its second fails: nothing of it, nor of the batch, may remain. */
class BrokenAudit extends Migration {
  override up(): void {
    this.addSql('create table audit_log (id serial primary key, entry text not null)');
    this.addSql("insert into no_such_table (entry) values ('never')");
  }
}

class FixedAudit extends Migration {
  override up(): void {
    this.addSql('create table audit_log (id serial primary key, entry text not null)');
    this.addSql("insert into audit_log (entry) values ('fixed')");
  }
}

class CreateOther extends Migration {
  override up(): void {
    this.addSql('create table other_table (id int)');
  }
}

const ledgerMigrations: MigrationsOptions = {
  migrationsList: [
    { name: 'Migration20990101000001_ledger', class: CreateLedger },
    { name: 'Migration20990101000002_seed_ledger', class: SeedLedger },
  ],
};

describe('DB_SCHEMA_UPDATE=migrate with the example migrations', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('migrate_example');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('applies the initial migration once: the first boot creates the task table, the next applies nothing', async () => {
    const shipped = await shippedMigrations();
    expect(shipped).toEqual([expect.stringMatching(/^Migration\d{14}_initial$/)]);

    expect(await bootOnce(db)).toBe('updated');
    expect(await appliedMigrations(db)).toEqual(shipped);
    expect(await tableExists(db, 'task')).toBe(true);
    // Migrate mode never runs the safe update, so it leaves no fingerprint behind.
    expect(await tableExists(db, 'inversify_mikro_orm_schema_fingerprint')).toBe(false);

    expect(await bootOnce(db)).toBe('unchanged');
    expect(await appliedMigrations(db)).toEqual(shipped);
  });

  it('the migrated schema is what the Task entity maps: a Session can store and read a task', async () => {
    const { container, lifecycle } = migratingLifecycle(db);
    await lifecycle.start();
    try {
      const session = container.get(Session);
      session.create(TaskSchema, { title: 'from a migrated schema' });
      await session.flush();
      expect(await container.get(Session).count(TaskSchema)).toBe(1);
    } finally {
      await lifecycle.stop();
    }
  });
});

describe('DB_SCHEMA_UPDATE=migrate, 4 instances booting at once', () => {
  let db: IsolatedDatabase;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await testDatabase.create('migrate_concurrent');
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.kill()));
    await db.drop();
  });

  it('4 lifecycles in one process apply each migration exactly once, and all 4 are running', async () => {
    const instances = Array.from({ length: 4 }, () => migratingLifecycle(db, ledgerMigrations));
    await Promise.all(instances.map(({ lifecycle }) => lifecycle.start()));
    try {
      const outcomes = instances.map(({ lifecycle }) => lifecycle.schemaOutcome);
      expect(outcomes.filter((outcome) => outcome === 'updated')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'unchanged')).toHaveLength(3);
      expect(await appliedMigrations(db)).toEqual([
        'Migration20990101000001_ledger',
        'Migration20990101000002_seed_ledger',
      ]);
      expect(await db.query('select note, amount_cents from ledger')).toEqual([
        { note: 'seeded once', amount_cents: 0 },
      ]);
      for (const { container, lifecycle } of instances) {
        expect(lifecycle.state).toBe('running');
        expect(await container.get(Session).execute('select count(*)::int as n from ledger')).toEqual([{ n: 1 }]);
      }
    } finally {
      await Promise.all(instances.map(({ lifecycle }) => lifecycle.stop()));
    }
  });

  it('4 service processes (the build) started at once on an empty database: the initial migration applied once, all 4 serve', async () => {
    const empty = await testDatabase.create('migrate_processes');
    try {
      const env = { DATABASE_URL: empty.url, DB_SCHEMA_UPDATE: 'migrate', DB_POOL_MIN: '1' };
      services.push(...(await Promise.all(Array.from({ length: 4 }, () => ServiceProcess.start(env)))));
      const errors = services.flatMap((service) => service.lines.filter((line) => Number(line.level) >= 50));
      expect(errors).toEqual([]);
      expect(await appliedMigrations(empty)).toEqual(await shippedMigrations());
      const created = await Promise.all(
        services.map((service, index) =>
          fetch(`${service.url}/tasks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ title: `from instance ${index}` }),
          }),
        ),
      );
      expect(created.map((response) => response.status)).toEqual([201, 201, 201, 201]);
      const ready = await Promise.all(
        services.map(async (service) => (await fetch(`${service.url}/health/ready`)).status),
      );
      expect(ready).toEqual([200, 200, 200, 200]);
    } finally {
      await Promise.all(services.splice(0).map((service) => service.kill()));
      await empty.drop();
    }
  }, 60_000);
});

describe('DB_SCHEMA_UPDATE=migrate, a failing migration', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('migrate_failing');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('rolls back completely and fails the boot naming it; the next boot with the fixed migration succeeds', async () => {
    const applicationName = uniqueApplicationName('migrate-fail');
    const broken = migratingLifecycle(
      db,
      {
        migrationsList: [
          { name: 'Migration20990101000001_ledger', class: CreateLedger },
          { name: 'Migration20990101000003_audit', class: BrokenAudit },
        ],
      },
      applicationName,
    );
    const error = await failureOf(broken.lifecycle.start());
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect(error).toMatchObject({ kind: 'migration' });
    expect((error as Error).message).toMatch(/^Migration Migration20990101000003_audit failed: .*no_such_table/);
    expect(broken.lifecycle.state).toBe('stopped');
    await expect.poll(() => serverConnections(db, applicationName)).toBe(0);

    // Neither the failing migration's first statement, nor the migration before it, nor their bookkeeping.
    expect(await tableExists(db, 'audit_log')).toBe(false);
    expect(await tableExists(db, 'ledger')).toBe(false);
    expect(await tableExists(db, 'mikro_orm_migrations')).toBe(false);

    const fixed = {
      migrationsList: [
        { name: 'Migration20990101000001_ledger', class: CreateLedger },
        { name: 'Migration20990101000003_audit', class: FixedAudit },
      ],
    };
    expect(await bootOnce(db, fixed)).toBe('updated');
    expect(await appliedMigrations(db)).toEqual(['Migration20990101000001_ledger', 'Migration20990101000003_audit']);
    expect(await db.query('select entry from audit_log')).toEqual([{ entry: 'fixed' }]);
  });

  it('refuses a migration that opts out of transactions, applying nothing', async () => {
    class Concurrently extends Migration {
      override isTransactional(): boolean {
        return false;
      }
      override up(): void {
        this.addSql('create table never_created (id int)');
      }
    }
    const { lifecycle } = migratingLifecycle(db, {
      migrationsList: [
        { name: 'Migration20990101000004_other', class: CreateOther },
        { name: 'Migration20990101000005_concurrently', class: Concurrently },
      ],
    });
    const error = await failureOf(lifecycle.start());
    expect(error).toMatchObject({ kind: 'migration' });
    expect((error as Error).message).toMatch(
      /^Migration Migration20990101000005_concurrently failed: it opts out of transactions/,
    );
    expect(await tableExists(db, 'other_table')).toBe(false);
    expect(await tableExists(db, 'never_created')).toBe(false);
  });

  it('an empty migrations folder fails the boot instead of serving without tables', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'no-migrations-'));
    const fresh = await testDatabase.create('migrate_none');
    try {
      const { lifecycle } = migratingLifecycle(fresh, { path: folder });
      const error = await failureOf(lifecycle.start());
      expect(error).toMatchObject({ kind: 'config' });
      expect((error as Error).message).toContain(`found no migration in ${folder}`);
    } finally {
      await fresh.drop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('DB_SCHEMA_UPDATE=migrate, stop() during the boot', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('migrate_stop');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('stop() while a migration statement runs cancels it: start() rejects, nothing applied, no connection left', async () => {
    class Slow extends Migration {
      override up(): void {
        this.addSql('create table slow_table (id int)');
        this.addSql('select pg_sleep(60)');
      }
    }
    const applicationName = uniqueApplicationName('migrate-stop');
    const { lifecycle } = migratingLifecycle(
      db,
      { migrationsList: [{ name: 'Migration20990101000006_slow', class: Slow }] },
      applicationName,
    );
    const starting = failureOf(lifecycle.start());
    await expect
      .poll(
        () =>
          db.query("select 1 from pg_stat_activity where application_name = $1 and query like '%pg_sleep%'", [
            applicationName,
          ]),
        { timeout: 10_000 },
      )
      .toHaveLength(1);

    await lifecycle.stop();
    const error = await starting;
    expect(error).toMatchObject({ kind: 'lifecycle' });
    expect((error as Error).message).toMatch(/stopped while starting \(running migrations\)/);
    await expect.poll(() => serverConnections(db, applicationName)).toBe(0);
    expect(await tableExists(db, 'slow_table')).toBe(false);
  }, 20_000);

  it('stop() between two migrations: the next one never starts and the batch is rolled back', async () => {
    let reached: () => void = () => undefined;
    const inFirst = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    class First extends Migration {
      override async up(): Promise<void> {
        reached();
        await gate;
        this.addSql('create table first_table (id int)');
      }
    }
    class Second extends Migration {
      override up(): void {
        this.addSql('create table second_table (id int)');
      }
    }
    const { lifecycle } = migratingLifecycle(db, {
      migrationsList: [
        { name: 'Migration20990101000007_first', class: First },
        { name: 'Migration20990101000008_second', class: Second },
      ],
    });
    const starting = failureOf(lifecycle.start());
    await inFirst;
    const stopping = lifecycle.stop();
    release();
    await stopping;

    expect(await starting).toMatchObject({ kind: 'lifecycle' });
    expect(await tableExists(db, 'first_table')).toBe(false);
    expect(await tableExists(db, 'second_table')).toBe(false);
  });
});

/**
 * A copy of the project's sources and configuration in a temporary folder (node_modules linked),
 * so the CLI can write migrations and snapshots without touching tracked files.
 */
async function projectCopy(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'migration-create-'));
  for (const entry of ['package.json', 'tsconfig.json', 'mikro-orm.config.ts', 'src']) {
    await cp(path.resolve(entry), path.join(dir, entry), { recursive: true });
  }
  await symlink(path.resolve('node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The Task entity in `dir` gains a `priority` column. */
async function addPriorityColumn(dir: string): Promise<void> {
  const file = path.join(dir, 'src/app/task.entity.ts');
  const source = await readFile(file, 'utf8');
  const changed = source.replace(
    'done: p.boolean().default(false),',
    'done: p.boolean().default(false),\n    priority: p.integer().default(0),',
  );
  expect(changed).not.toBe(source);
  await writeFile(file, changed);
}

async function newMigrationFiles(dir: string, before: string[]): Promise<string[]> {
  const files = await readdir(path.join(dir, 'src/app/migrations'));
  return files.filter((file) => file.endsWith('.ts') && !before.includes(file));
}

describe('npm run migration:create', () => {
  let db: IsolatedDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await testDatabase.create('migration_create');
  });

  afterAll(async () => {
    await db.drop();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const migrationCreate = (...args: string[]) =>
    runCommand('npm', ['run', '--silent', 'migration:create', '--', ...args], {
      cwd: dir,
      env: { DATABASE_URL: db.url, FORCE_COLOR: '0' },
    });

  it('writes a migration for an entity change, diffed against the shipped snapshot', async () => {
    dir = await projectCopy();
    await addPriorityColumn(dir);
    const before = await readdir(path.join(dir, 'src/app/migrations'));

    const result = await migrationCreate('--name', 'priority');
    expect(result.code, result.stderr).toBe(0);
    const created = await newMigrationFiles(dir, before);
    expect(created).toEqual([expect.stringMatching(/^Migration\d{14}_priority\.ts$/)]);
    const code = await readFile(path.join(dir, 'src/app/migrations', String(created[0])), 'utf8');
    expect(code).toContain('alter table "task" add "priority" int not null default 0;');
    // Only the change: the shipped snapshot already holds the task table.
    expect(code).not.toContain('create table');
  });

  it("never puts the library's fingerprint tables in a migration diffed against a database the safe update ran on", async () => {
    // The safe update's own tables, as a boot in safe mode (the default) leaves them.
    const safe = new Container();
    safe.load(databaseModule(loadDatabaseConfig({ entities: [TaskSchema] }, db.env({ DB_POOL_MIN: '1' }))));
    await safe.get(AppLifecycle).useLogger(quiet).start();
    await safe.get(AppLifecycle).stop();
    await db.query('create table inversify_mikro_orm_schema (id int primary key, fingerprint text not null)');
    expect(await tableExists(db, 'inversify_mikro_orm_schema_fingerprint')).toBe(true);

    // No snapshot: the diff is taken against the database itself.
    dir = await projectCopy();
    await rm(path.join(dir, 'src/app/migrations'), { recursive: true });
    await addPriorityColumn(dir);

    const result = await migrationCreate('--dump');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('alter table "task" add "priority" int not null default 0;');
    expect(result.stdout).not.toContain('inversify_mikro_orm');
    const [created] = await newMigrationFiles(dir, []);
    const code = await readFile(path.join(dir, 'src/app/migrations', String(created)), 'utf8');
    expect(code).toContain('alter table "task" add "priority"');
    expect(code).not.toContain('inversify_mikro_orm');
  });
});
