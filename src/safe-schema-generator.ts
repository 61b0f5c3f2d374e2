import type { EnsureDatabaseOptions, MikroORM, Options, UpdateSchemaOptions } from '@mikro-orm/core';
import {
  type AbstractSqlPlatform,
  DatabaseSchema,
  PostgreSqlPlatform,
  type SqlEntityManager,
  SqlSchemaGenerator,
} from '@mikro-orm/postgresql';
import { LIBRARY_TABLES } from './library-tables.js';
import { creationNotEnabledError, isMissingDatabaseError } from './missing-database.js';

type SchemaGeneratorOptions = NonNullable<Options['schemaGenerator']>;

/**
 * MikroORM's schema generator, except that a schema update never loses data, whoever asks for it:
 * the boot (`syncSchema`), `orm.schema.update()`, or `npx mikro-orm schema:update --run`. The CLI
 * passes `safe: false, dropTables: true` unless told otherwise, and the config has no setting to
 * change that, so the guarantee has to live here: an update drops no table (another service's on a
 * shared database, say) and no column, and renames none (see `hideUnmappedColumns`). The library's
 * own tables are left out of every diff, migrations included. Explicit destruction (`schema:drop`,
 * `schema:fresh`, `orm.schema.refresh()`) is MikroORM's, unchanged.
 */
export class SafeSchemaGenerator extends SqlSchemaGenerator {
  static override register(orm: MikroORM): void {
    orm.config.registerExtension(
      '@mikro-orm/schema-generator',
      () => new SafeSchemaGenerator(orm.em as SqlEntityManager),
    );
  }

  protected override readonly options = withLibraryTablesSkipped(this.config.get('schemaGenerator'));

  override async getUpdateSchemaSQL(options: UpdateSchemaOptions<DatabaseSchema> = {}): Promise<string> {
    const fromSchema = options.fromSchema ?? (await this.#currentSchema(options.schema));
    const relaxed = hideUnmappedColumns(fromSchema, this.getTargetSchema(options.schema), this.platform);
    const sql = await super.getUpdateSchemaSQL({ ...options, fromSchema, safe: true, dropTables: false });
    return [sql, ...relaxed].filter((part) => part.trim()).join('\n');
  }

  /**
   * Creates the database when it is missing: what the MikroORM CLI's `database:create` asks for.
   * Unless creation is enabled (`DB_CREATE_DATABASE`), the connection refuses; the error then says
   * how to enable it for this command rather than that nothing was created.
   */
  override async ensureDatabase(options?: EnsureDatabaseOptions): Promise<boolean> {
    try {
      return await super.ensureDatabase(options);
    } catch (error) {
      throw isMissingDatabaseError(error) ? creationNotEnabledError(this.config, error) : error;
    }
  }

  /** What MikroORM reads when not given a `fromSchema`, minus the tables `skipTables` names. */
  async #currentSchema(schema: string | undefined): Promise<DatabaseSchema> {
    // An update is no request to create the database: its error stays "nothing was created".
    await super.ensureDatabase();
    const namespaces = this.getTargetSchema(schema).getNamespaces();
    const { skipTables, skipViews } = this.options;
    const current = await DatabaseSchema.create(
      this.connection,
      this.platform,
      this.config,
      schema,
      namespaces,
      undefined,
      skipTables,
      skipViews,
    );
    await current.loadRoutines(this.connection, this.platform, namespaces);
    return current;
  }
}

function withLibraryTablesSkipped(options: SchemaGeneratorOptions): SchemaGeneratorOptions {
  return { ...options, skipTables: [...(options.skipTables ?? []), ...LIBRARY_TABLES] };
}

/**
 * Hides from `current` every column of a mapped table that the entities no longer map: MikroORM's
 * `safe` mode would otherwise "rename" such a column into a new one of the same type, moving old
 * data under a new name. Returns the statements that make those columns nullable when they are
 * `NOT NULL` without a default, so inserts by the current code (which omits them) keep working.
 */
function hideUnmappedColumns(current: DatabaseSchema, target: DatabaseSchema, platform: AbstractSqlPlatform): string[] {
  const relaxed: string[] = [];
  for (const table of current.getTables()) {
    const wanted = target.getTable(table.getShortestName());
    if (!wanted) continue;
    for (const column of table.getColumns()) {
      if (wanted.hasColumn(column.name)) continue;
      table.removeColumn(column.name);
      if (!column.nullable && column.default == null) {
        relaxed.push(
          `alter table ${table.getQuotedName()} alter column ${platform.quoteIdentifier(column.name)} drop not null;`,
        );
      }
    }
  }
  return relaxed;
}

/** PostgreSQL's platform with `SafeSchemaGenerator` as the ORM's schema generator (`orm.schema`). */
export class SafeSchemaPostgreSqlPlatform extends PostgreSqlPlatform {
  override lookupExtensions(orm: MikroORM): void {
    SafeSchemaGenerator.register(orm);
  }
}
