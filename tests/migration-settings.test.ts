import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appMigrations } from '../src/app/database-config.js';
import { type DatabaseConfigOverrides, InversifyMikroOrmError, loadDatabaseConfig } from '../src/index.js';
import { loadMigrationsPackage } from '../src/migrations.js';

const DATABASE_URL = 'postgresql://app:S3cr3t@db.example.com:5432/tasks';

function configError(overrides: DatabaseConfigOverrides, env: Record<string, string>): InversifyMikroOrmError {
  try {
    loadDatabaseConfig(overrides, { DATABASE_URL, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected loadDatabaseConfig to throw');
}

function prefixedConfigError(env: Record<string, string>): InversifyMikroOrmError {
  try {
    loadDatabaseConfig({}, env, { prefix: 'REPORTS_' });
  } catch (error) {
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected loadDatabaseConfig to throw');
}

describe('DB_SCHEMA_UPDATE=migrate settings', () => {
  it('accepts migrate, with a migrations folder that exists', () => {
    const config = loadDatabaseConfig({ migrations: appMigrations }, { DATABASE_URL, DB_SCHEMA_UPDATE: 'migrate' });
    expect(config.lifecycle.schemaUpdate).toBe('migrate');
    expect(config.migrations).toMatchObject({ path: appMigrations.path });
  });

  it('a value other than safe, off or migrate is an error listing all three', () => {
    const error = configError({}, { DB_SCHEMA_UPDATE: 'migrations' });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('DB_SCHEMA_UPDATE must be one of safe, off, migrate (got "migrations")');
  });

  it('without migrations.path (or migrationsList) is an error naming the setting', () => {
    const error = configError({}, { DB_SCHEMA_UPDATE: 'migrate' });
    expect(error.message).toContain('DB_SCHEMA_UPDATE=migrate needs migrations.path');
  });

  it('asked for by the lifecycle override or a prefixed variable, the error names that setting', () => {
    expect(configError({ lifecycle: { schemaUpdate: 'migrate' } }, {}).message).toContain(
      "lifecycle.schemaUpdate: 'migrate' needs migrations.path",
    );
    const reports = prefixedConfigError({
      REPORTS_DATABASE_URL: DATABASE_URL,
      REPORTS_DB_SCHEMA_UPDATE: 'migrate',
    });
    expect(reports.message).toContain('REPORTS_DB_SCHEMA_UPDATE=migrate needs migrations.path');
  });

  it('a migrations.path that does not exist is an error naming the folder (MikroORM would create it, empty)', () => {
    const error = configError({ migrations: { path: 'no/such/migrations' } }, { DB_SCHEMA_UPDATE: 'migrate' });
    expect(error.message).toContain(`migrations.path (${path.resolve('no/such/migrations')}) does not exist`);
  });

  it('refuses allOrNothing: false, which would take migrations out of the boot transaction', () => {
    const error = configError(
      { migrations: { ...appMigrations, allOrNothing: false } },
      { DB_SCHEMA_UPDATE: 'migrate' },
    );
    expect(error.message).toContain('remove migrations.transactional: false and migrations.allOrNothing: false');
  });

  it('the boot never writes the schema snapshot, unless the application asks for it', () => {
    const config = loadDatabaseConfig({ migrations: appMigrations }, { DATABASE_URL });
    expect(config.migrations).toMatchObject({ snapshotOnMigrate: false, snapshotName: '.snapshot-tasks' });
    const asked = loadDatabaseConfig({ migrations: { snapshotOnMigrate: true } }, { DATABASE_URL });
    expect(asked.migrations).toMatchObject({ snapshotOnMigrate: true });
  });

  it('checks nothing about migrations in the other modes', () => {
    expect(loadDatabaseConfig({}, { DATABASE_URL, DB_SCHEMA_UPDATE: 'safe' }).lifecycle.schemaUpdate).toBe('safe');
    expect(loadDatabaseConfig({}, { DATABASE_URL, DB_SCHEMA_UPDATE: 'off' }).lifecycle.schemaUpdate).toBe('off');
  });
});

describe('the migrations package, an optional peer', () => {
  it('is loaded on demand', async () => {
    const { Migrator } = await loadMigrationsPackage();
    expect(typeof Migrator).toBe('function');
  });

  it('when missing, fails with a config error naming the package and how to install it', async () => {
    const error = await loadMigrationsPackage('@mikro-orm/migrations-not-installed').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect(error).toMatchObject({ kind: 'config' });
    expect((error as Error).message).toContain(
      'DB_SCHEMA_UPDATE=migrate needs the package @mikro-orm/migrations-not-installed, which is not installed',
    );
    expect((error as Error).message).toContain('npm install --save-exact @mikro-orm/migrations-not-installed@');
  });
});
