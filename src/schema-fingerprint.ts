import { hash } from 'node:crypto';
import {
  DecimalType,
  type Dictionary,
  type EntityMetadata,
  type EntityProperty,
  isRaw,
  ReferenceKind,
  Utils,
} from '@mikro-orm/core';
import { type AbstractSqlPlatform, DatabaseSchema, DatabaseTable, type SchemaHelper } from '@mikro-orm/postgresql';
import type { Orm } from './orm.js';

/** What `syncSchema` compares and stores: the schema the entities ask for, and which tables they map. */
export interface SchemaIdentity {
  /** A hash of everything in the entity metadata and the config that shapes the target schema. */
  fingerprint: string;
  /** The key the fingerprint is stored under: the tables the entities map, whatever their columns. */
  entitySet: string;
}

/**
 * Changed whenever what is hashed changes, so that a fingerprint stored by another version of this
 * library never matches (a mismatch costs one diff; a false match would skip a needed update).
 */
const FORMAT = 'entity-metadata/1';

/** A hash of the schema the metadata asks for: computed in memory, no database round trip. */
export function schemaFingerprint(orm: Orm): string {
  return schemaIdentity(orm).fingerprint;
}

/**
 * Reads the entity metadata directly instead of building MikroORM's target schema, which costs
 * tens of microseconds per entity in a fresh process: most of a boot with nothing to do. Mirrors
 * what `DatabaseSchema.fromMetadata` reads; where it derives a value from others (an index name
 * from the table and its columns, say) those are hashed instead. The few features whose SQL comes
 * from running user code (views, row-level-security filters, partitions, routines) are hashed from
 * MikroORM's own output, for those entities only. `tests/schema-fingerprint.test.ts` checks that
 * any change of the target schema changes the fingerprint.
 */
export function schemaIdentity(orm: Orm): SchemaIdentity {
  const hasher = new MetadataHasher(orm);
  const tables: string[] = [];
  const entities: unknown[] = [];
  for (const meta of hasher.entities()) {
    if (!meta.view) tables.push(hasher.shortestTableName(meta));
    entities.push(hasher.entity(meta));
  }
  const described = [FORMAT, hasher.settings(), hasher.shared(), entities];
  return { fingerprint: sha256(JSON.stringify(described)), entitySet: sha256(JSON.stringify(tables.sort())) };
}

function sha256(text: string): string {
  return hash('sha256', text);
}

type Meta = EntityMetadata;
type Prop = EntityProperty;

/** What `addColumnFromProperty` derives from a column's type alone. */
interface ColumnTypeInfo {
  mappedType: string;
  /** Precision and scale, when a decimal type spells them out. */
  decimal: [number, number] | undefined;
  /** The length of a column of this type whose property declares none. */
  defaultLength: number | undefined;
}

/** One fingerprint's worth of reading: the caches live as long as one call. */
class MetadataHasher {
  readonly #orm: Orm;
  readonly #platform: AbstractSqlPlatform;
  readonly #helper: SchemaHelper;
  /** The schema of tables whose entity names none (`getTargetSchema()`'s `schemaName`). */
  readonly #schemaName: string | undefined;
  readonly #skipColumns: Dictionary<(string | RegExp)[]>;
  /** Keyed by type: every entry is hashed once, in `shared()`, rather than with each column. */
  readonly #columnTypes = new Map<string | undefined, ColumnTypeInfo>();
  /** A column of a native enum type takes its items from any declaration of that enum. */
  readonly #nativeEnums: unknown[] = [];

  constructor(orm: Orm) {
    this.#orm = orm;
    this.#platform = orm.em.getPlatform();
    const helper = this.#platform.getSchemaHelper();
    if (!helper) throw new Error(`${this.#platform.constructor.name} has no schema helper: not an SQL platform`);
    this.#helper = helper;
    this.#schemaName = orm.config.get('schema') ?? this.#platform.getDefaultSchemaName();
    this.#skipColumns = orm.config.get('schemaGenerator').skipColumns ?? {};
  }

  /**
   * The entities `getTargetSchema()` builds a table or view for (roots and TPT children, not
   * embeddables or virtual entities, not the `*` schema, not the tables `skipTables` names),
   * sorted: the order of the entities in the config does not matter.
   */
  entities(): Meta[] {
    const skipTables = this.#orm.config.get('schemaGenerator').skipTables ?? [];
    const selected: Meta[] = [];
    for (const meta of this.#orm.getMetadata().getAll().values()) {
      const tptChild = meta.inheritanceType === 'tpt' && meta.tptParent;
      if (!(meta.root.class === meta.class || tptChild) || meta.embeddable || meta.virtual) continue;
      if (meta.schema === '*') continue;
      if (skipTables.length > 0 && this.#skipped(meta, skipTables)) continue;
      selected.push(meta);
    }
    return selected.sort((a, b) => compare(a.className, b.className) || compare(a.collection, b.collection));
  }

  /** `SqlSchemaGenerator.isTableSkipped`. */
  #skipped(meta: Meta, skipTables: (string | RegExp)[]): boolean {
    const schema = meta.schema ?? this.#orm.config.get('schema');
    const qualified = schema ? `${schema}.${meta.collection}` : meta.collection;
    return skipTables.some((pattern) => matchName(meta.collection, pattern) || matchName(qualified, pattern));
  }

  /** The table's name as the fingerprint table keys it (`DatabaseTable.getShortestName`). */
  shortestTableName(meta: Meta): string {
    const schema = this.#namespace(meta);
    const defaultSchema = this.#platform.getDefaultSchemaName();
    if (!schema || meta.collection.startsWith(`${defaultSchema}.`) || schema === defaultSchema) {
      return meta.collection;
    }
    return `${schema}.${meta.collection}`;
  }

  /** The schema the entity's table is created in. */
  #namespace(meta: Meta): string | undefined {
    return meta.schema ?? this.#orm.config.get('schema') ?? this.#schemaName;
  }

  /**
   * What every table depends on: MikroORM's version (another release may build another schema from
   * the same metadata: other index names, say), the platform, the default schema, the naming
   * strategy (which names indexes and constraints), the generator's options.
   */
  settings(): unknown[] {
    const { config } = this.#orm;
    return [
      Utils.getORMVersion(),
      this.#platform.constructor.name,
      this.#schemaName,
      config.get('schema'),
      sourceOf(config.getNamingStrategy()),
      canonical(config.get('discovery').getMappedType),
      canonical(config.get('schemaGenerator')),
      config.getRoutines().length > 0 ? exactSchemaOf(this.#orm, []) : null,
    ];
  }

  /** What the entities' columns share, once `entity()` has seen them all. */
  shared(): unknown[] {
    return [this.#nativeEnums, [...this.#columnTypes].sort(([a = ''], [b = '']) => compare(a, b))];
  }

  entity(meta: Meta): unknown[] {
    if (!meta.view) this.#collectNativeEnums(meta);
    if (meta.view || meta.partitionBy || Object.values(meta.filters).some((filter) => filter.rls)) {
      return [meta.className, exactSchemaOf(this.#orm, [meta])];
    }
    const tptParent = meta.inheritanceType === 'tpt' ? meta.tptParent : undefined;
    return [
      meta.collection,
      meta.schema,
      meta.comment,
      meta.compositePK,
      tptParent ? [tptParent.tableName, tptParent.schema, primaryColumns(tptParent)] : null,
      this.#columnProps(meta, tptParent).map((prop) => this.#prop(prop)),
      this.#declaredIndexes(meta),
      meta.checks.map((check) => [
        check.name,
        canonical(check.expression),
        check.property ? meta.properties[check.property]?.fieldNames[0] : null,
      ]),
      meta.triggers.length > 0 ? canonical(meta.triggers) : null,
      meta.policies.length > 0 ? canonical(meta.policies) : null,
      meta.rowLevelSecurity,
    ];
  }

  #collectNativeEnums(meta: Meta): void {
    const { props } = meta;
    for (let i = 0; i < props.length; i++) {
      const prop = props[i] as Prop;
      if (prop.nativeEnumName) this.#nativeEnums.push([meta.schema, prop.nativeEnumName, prop.items]);
    }
  }

  /** The properties `fromMetadata` makes columns of, in its order (of two mapping one column, the first wins). */
  #columnProps(meta: Meta, tptParent: Meta | undefined): Prop[] {
    const own = tptParent && meta.ownProps ? meta.ownProps : meta.props;
    const skipped =
      this.#skipColumns[meta.collection] ??
      (meta.schema ? this.#skipColumns[`${meta.schema}.${meta.collection}`] : undefined);
    const props: Prop[] = [];
    for (let i = 0; i < own.length; i++) {
      const prop = own[i] as Prop;
      if (hasColumn(meta, prop, skipped)) props.push(prop);
    }
    if (!tptParent) return props;
    // A TPT child's table always holds its primary key (the foreign key to the parent's).
    const keys = meta.primaryKeys.map((name) => meta.properties[name]).filter((prop) => !own.includes(prop));
    return [...props, ...keys];
  }

  /** What shapes the property's columns, indexes and foreign key; rarely used options in a group of their own. */
  #prop(prop: Prop): unknown[] {
    const described: unknown[] = [
      prop.kind,
      this.#columns(prop),
      prop.nullable,
      prop.primary,
      prop.autoincrement,
      prop.unsigned,
      typeof prop.defaultRaw === 'object' ? canonical(prop.defaultRaw) : prop.defaultRaw,
      prop.index,
      prop.unique,
    ];
    if (prop.kind === ReferenceKind.MANY_TO_ONE || prop.kind === ReferenceKind.ONE_TO_ONE) {
      described.push('foreign key', [
        prop.polymorphic,
        prop.targetMeta?.root.schema,
        prop.referencedTableName,
        prop.referencedColumnNames,
        prop.createForeignKeyConstraint,
        prop.foreignKeyName,
        prop.deleteRule,
        prop.updateRule,
      ]);
    }
    if (
      prop.enum !== undefined ||
      prop.nativeEnumName !== undefined ||
      prop.items !== undefined ||
      prop.generated !== undefined ||
      prop.comment !== undefined ||
      prop.collation !== undefined ||
      prop.extra !== undefined ||
      prop.ignoreSchemaChanges !== undefined ||
      prop.deferMode !== undefined
    ) {
      described.push('options', [
        prop.enum,
        prop.nativeEnumName,
        prop.items,
        typeof prop.generated === 'object' ? canonical(prop.generated) : prop.generated,
        prop.comment,
        prop.collation,
        prop.extra,
        prop.ignoreSchemaChanges,
        prop.deferMode,
      ]);
    }
    return described;
  }

  /**
   * Each column's name, type and size. The size is normalized the way `addColumnFromProperty` does
   * it, because that method writes the result back into the property: the hash must be the same
   * before and after a target schema was built in this process.
   */
  #columns(prop: Prop): unknown[] {
    const stringEnum = prop.enum && (!!prop.nativeEnumName || !!prop.items?.every((item) => typeof item === 'string'));
    let { length, precision, scale } = prop;
    const columns: unknown[] = [];
    for (let index = 0; index < prop.fieldNames.length; index++) {
      const columnType = prop.columnTypes[index];
      const type = this.#columnType(columnType, stringEnum);
      if (type.decimal) {
        precision ??= type.decimal[0];
        scale ??= type.decimal[1];
        length = undefined;
      }
      if (length == null && columnType) length = type.defaultLength;
      columns.push(prop.fieldNames[index], columnType, length, precision, scale);
    }
    return columns;
  }

  #columnType(columnType: string | undefined, stringEnum: boolean | undefined): ColumnTypeInfo {
    const key = stringEnum ? `enum ${columnType}` : columnType;
    let info = this.#columnTypes.get(key);
    if (!info) {
      const mappedType = this.#platform.getMappedType(stringEnum ? 'enum' : `${columnType}`);
      const decimal = mappedType instanceof DecimalType ? /\w+\((\d+), ?(\d+)\)/.exec(`${columnType}`) : null;
      info = {
        mappedType: mappedType.constructor.name,
        decimal: decimal ? [Number(decimal[1]), Number(decimal[2])] : undefined,
        defaultLength: columnType
          ? (this.#helper.inferLengthFromColumnType(columnType) ?? mappedType.getDefaultLength?.(this.#platform))
          : undefined,
      };
      this.#columnTypes.set(key, info);
    }
    return info;
  }

  /**
   * `@Index()` / `@Unique()` on the entity, resolved by MikroORM itself (property paths into
   * embeddables, expression callbacks, partial-index conditions) on a table holding nothing else.
   */
  #declaredIndexes(meta: Meta): unknown {
    if (meta.indexes.length === 0 && meta.uniques.length === 0) return null;
    const table = new DatabaseTable(this.#platform, meta.collection, this.#namespace(meta));
    for (const index of meta.indexes) table.addIndex(meta, index, 'index');
    for (const index of meta.uniques) table.addIndex(meta, index, 'unique');
    return canonical(table.getIndexes());
  }
}

/** `DatabaseSchema.shouldHaveColumn`, given the columns `skipColumns` names for the entity's table. */
function hasColumn(meta: Meta, prop: Prop, skipped: (string | RegExp)[] | undefined): boolean {
  if (prop.persist === false || !prop.columnTypes?.length) return false;
  if (skipped && prop.fieldNames.some((field) => skipped.some((pattern) => matchName(field, pattern)))) return false;
  const { kind } = prop;
  if (kind === ReferenceKind.EMBEDDED && prop.object) return true;
  if (prop.embedded) {
    let root = prop;
    while (root.embedded) root = meta.properties[root.embedded[0]] as Prop;
    if (root.kind === ReferenceKind.EMBEDDED) return !root.object;
  }
  if (kind === ReferenceKind.EMBEDDED) return true;
  return (
    kind === ReferenceKind.SCALAR ||
    kind === ReferenceKind.MANY_TO_ONE ||
    (kind === ReferenceKind.ONE_TO_ONE && prop.owner)
  );
}

/** The source of an object's class and of the classes it extends: a custom strategy edited in place differs. */
function sourceOf(instance: object): string[] {
  const classes: string[] = [];
  for (let type = instance.constructor; type && type !== Object; type = Object.getPrototypeOf(type)) {
    classes.push(String(type));
  }
  return classes;
}

function primaryColumns(meta: Meta): string[] {
  return meta.primaryKeys.flatMap((name) => meta.properties[name]?.fieldNames ?? []);
}

/** MikroORM's own target schema of `entities` (or, given none, of the config's routines). */
function exactSchemaOf(orm: Orm, entities: Meta[]): unknown {
  const platform = orm.em.getPlatform();
  const schemaName = orm.config.get('schema') ?? platform.getDefaultSchemaName();
  const schema = DatabaseSchema.fromMetadata(entities, platform, orm.config, schemaName, orm.em);
  if (entities.length === 0) schema.addRoutinesFromMetadata(orm.config.getRoutines(), platform, orm.em);
  return canonical([schema, schema.getRoutines()]);
}

/** Locale-independent: the same order on every machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `DatabaseSchema.matchName`: a `skipTables` or `skipColumns` pattern. */
function matchName(name: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? name.toLocaleLowerCase() === pattern.toLocaleLowerCase() : pattern.test(name);
}

/**
 * A JSON-ready form of a value from the metadata or the config, whatever the order of its keys:
 * a raw SQL fragment by its SQL and parameters (its own JSON drops them), patterns and callbacks
 * by their source, objects that know their JSON (a `DatabaseSchema`) by that.
 */
function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'bigint':
      return `${value}n`;
    case 'function':
      return `function ${String(value)}`;
    case 'symbol':
      return String(value);
    case 'object':
      break;
    default:
      return value;
  }
  if (isRaw(value)) return ['raw', value.sql, canonical(value.params)];
  if (value instanceof RegExp) return `regexp ${String(value)}`;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonical((value as Date).toJSON());
  if (Array.isArray(value)) return value.map(canonical);
  const entries = Object.entries(value as Dictionary).sort(([a], [b]) => compare(a, b));
  return entries.map(([key, item]) => [key, canonical(item)]);
}
