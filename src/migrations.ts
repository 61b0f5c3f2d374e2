import { existsSync } from 'node:fs';
import path from 'node:path';
import type { MigrationsOptions } from '@mikro-orm/core';
import { InversifyMikroOrmError, isInversifyMikroOrmError } from './errors.js';
import type { Orm } from './orm.js';
import { withSchemaLock } from './schema-lock.js';

/** The optional peer that `DB_SCHEMA_UPDATE=migrate` needs; nothing else in the library imports it. */
export const MIGRATIONS_PACKAGE = '@mikro-orm/migrations';

type MigrationsModule = typeof import('@mikro-orm/migrations');

export interface MigrationRun {
  /** `updated` when this boot applied at least one migration, `unchanged` when none was pending. */
  outcome: 'updated' | 'unchanged';
  /** The migrations this boot applied, in order. */
  applied: string[];
}

/**
 * Applies the pending migrations, all in one transaction that holds the schema lock
 * (`withSchemaLock`): concurrent boots apply each migration once (the next lock holder finds it in
 * `mikro_orm_migrations`, the bookkeeping table being created under the lock too), and a failing
 * migration rolls back every migration of this boot, so the database stays at the version the
 * running instances expect. An aborted `signal` cancels the statement in flight and stops before
 * the next migration.
 */
export async function runMigrations(orm: Orm, signal?: AbortSignal): Promise<MigrationRun> {
  const BootMigrator = bootMigratorClass(await loadMigrationsPackage());
  const migrator = new BootMigrator(orm.em);
  let current: string | undefined;
  migrator.on('migrating', ({ name }) => {
    signal?.throwIfAborted();
    current = name;
  });
  try {
    return await withSchemaLock(
      orm,
      async (tx) => {
        const transaction = tx.getTransactionContext();
        const storage = migrator.getStorage();
        storage.setMasterMigration(transaction);
        try {
          const executed = await migrator.getExecuted();
          const applied = (await migrator.up({ transaction })).map((migration) => migration.name);
          if (executed.length + applied.length === 0) throw noMigrations(orm.config.get('migrations'));
          return { outcome: applied.length > 0 ? 'updated' : 'unchanged', applied };
        } finally {
          storage.unsetMasterMigration();
        }
      },
      signal,
    );
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (isInversifyMikroOrmError(error, 'config')) throw error;
    throw migrationFailed(current, error);
  }
}

/**
 * Imported only in migrate mode, so an application that never migrates at boot need not install
 * it. `specifier` exists for the test of the missing-package error.
 */
export async function loadMigrationsPackage(specifier = MIGRATIONS_PACKAGE): Promise<MigrationsModule> {
  try {
    return (await import(specifier)) as MigrationsModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new InversifyMikroOrmError(
      'config',
      `DB_SCHEMA_UPDATE=migrate needs the package ${specifier}, which is not installed. Install it at the version of @mikro-orm/core (npm install --save-exact ${specifier}@<that version>), or choose another DB_SCHEMA_UPDATE.`,
      { cause: error },
    );
  }
}

/**
 * MikroORM's migrator, refusing a migration that opts out of transactions: its statements would
 * run on another connection, outside the boot's transaction, so they could neither be rolled back
 * with it nor wait for it (a table the boot just created stays locked until it commits).
 */
function bootMigratorClass({ Migrator, MigrationRunner }: MigrationsModule) {
  class TransactionalRunner extends MigrationRunner {
    override run(...args: Parameters<InstanceType<typeof MigrationRunner>['run']>): Promise<void> {
      if (!args[0].isTransactional()) {
        throw new Error(
          'it opts out of transactions (isTransactional() returns false), so the boot cannot apply it atomically under the schema lock; apply it with `npx mikro-orm migration:up` while no instance boots',
        );
      }
      return super.run(...args);
    }
  }
  return class BootMigrator extends Migrator {
    protected override createRunner() {
      return new TransactionalRunner(this.driver, this.options, this.config);
    }
  };
}

function migrationFailed(name: string | undefined, cause: unknown): InversifyMikroOrmError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const what = name ? `Migration ${name} failed` : 'Running the pending migrations failed';
  return new InversifyMikroOrmError(
    'migration',
    `${what}: ${reason}. Every migration of this boot was rolled back (they run in one transaction), so the database is as it was before it. Fix the migration and start again.`,
    { cause },
  );
}

function noMigrations(options: MigrationsOptions): InversifyMikroOrmError {
  const where = options.migrationsList ? 'migrations.migrationsList' : `${options.path}`;
  return new InversifyMikroOrmError(
    'config',
    `DB_SCHEMA_UPDATE=migrate found no migration in ${where} and none applied to this database. Create the first one with \`npx mikro-orm migration:create --initial\` (and build it), or check migrations.path.`,
  );
}

/**
 * What makes `DB_SCHEMA_UPDATE=migrate` impossible, found before connecting: no folder named (MikroORM
 * would guess one, and an empty guess would leave the service without tables), a folder that does
 * not exist (MikroORM would create it, empty), or options that take migrations out of the boot's
 * transaction.
 */
export function migrationSettingsProblems(
  options: MigrationsOptions = {},
  baseDir = process.cwd(),
  asked = 'DB_SCHEMA_UPDATE=migrate',
): string[] {
  const problems: string[] = [];
  if (options.transactional === false || options.allOrNothing === false) {
    problems.push(
      `${asked} applies all pending migrations in one transaction: remove migrations.transactional: false and migrations.allOrNothing: false`,
    );
  }
  if (options.migrationsList) return problems;
  const folders = (['path', 'pathTs'] as const).filter((key) => options[key] !== undefined);
  if (folders.length === 0) {
    problems.push(
      `${asked} needs migrations.path (the folder of the migrations to run) or migrations.migrationsList in the MikroORM options`,
    );
  }
  for (const key of folders) {
    const folder = path.resolve(baseDir, String(options[key]));
    if (!existsSync(folder)) problems.push(`${asked}: migrations.${key} (${folder}) does not exist`);
  }
  return problems;
}
