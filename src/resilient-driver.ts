import type {
  AnyEntity,
  Configuration,
  ConnectionType,
  CountOptions,
  Dictionary,
  DriverException,
  EntityData,
  EntityName,
  EntityProperty,
  FilterQuery,
  FindOneOptions,
  FindOptions,
  LoggingOptions,
  Transaction as MikroTransaction,
  ObjectQuery,
  OrderDefinition,
  Primary,
} from '@mikro-orm/core';
import {
  type AnyQueryBuilder,
  type EntityManager,
  type NativeQueryBuilder,
  PostgreSqlConnection,
  PostgreSqlDriver,
  type QueryResult,
  type RawQueryFragment,
  type SqlEntityManager,
} from '@mikro-orm/postgresql';
import type { Pool, PoolConfig } from 'pg';
import { isDisconnectError } from './database-errors.js';
import { isInversifyMikroOrmError } from './errors.js';
import { databaseCreationAllowed, isMissingDatabaseError, missingDatabaseError } from './missing-database.js';
import { invalidatePool } from './pool.js';
import { attachPool, figuresOf } from './pool-figures.js';
import { hasWritten } from './read-your-writes.js';
import { ReplicaConnection, type ReplicaOptions, readConnection } from './replica-connection.js';
import { isDeclaredRead, retryableRead } from './retryable-read.js';
import { SafeSchemaPostgreSqlPlatform } from './safe-schema-generator.js';
import { sleep } from './timeout.js';

type Query = string | NativeQueryBuilder | RawQueryFragment;

const RETRY_DELAY_MS = 50;

/** A declared read must still be a `select`: an insert sent inside `retryableRead` is not repeated either. */
const READ_ONLY = /^\s*\(?\s*select\b/i;

function sqlOf(query: Query): string {
  if (typeof query === 'string') return query;
  if ('compile' in query && typeof query.compile === 'function') return query.compile().sql;
  return (query as { sql?: string }).sql ?? '';
}

type BeginOptions = Parameters<PostgreSqlConnection['begin']>[0];
type Transaction = Parameters<PostgreSqlConnection['commit']>[0];

/**
 * Makes a dead connection cost as little as possible. Any disconnect error invalidates the pool
 * (idle siblings are re-validated before reuse). Then a statement that provably changed nothing
 * is sent once more on a fresh connection: a read outside a transaction that MikroORM generated
 * or the caller declared (`retryableRead`), or a BEGIN that failed. Anything else fails as it is:
 * a retry could apply a write twice (a raw `select my_function()` may write), or silently lose
 * the first half of a transaction.
 *
 * A database that does not exist is reported as the library's configuration error, which also
 * keeps MikroORM from creating it (see `#explained`).
 */
export class ResilientPostgreSqlConnection extends PostgreSqlConnection {
  override async execute<
    T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[],
  >(
    query: Query,
    params?: readonly unknown[] | Dictionary,
    method?: 'all' | 'get' | 'run',
    ctx?: MikroTransaction,
    loggerContext?: Dictionary,
  ): Promise<T> {
    try {
      return await super.execute<T>(query, params, method, ctx, loggerContext);
    } catch (error) {
      if (!(await this.#sawDisconnect(error)) || ctx || !isDeclaredRead() || !READ_ONLY.test(sqlOf(query))) {
        throw this.#explained(error);
      }
      figuresOf(this.config).readsRetried++;
      return super.execute<T>(query, params, method, ctx, loggerContext);
    }
  }

  /** The primary's pool counts toward the ORM's figures (`poolFigures`) from its creation on. */
  override createKyselyDialect(overrides: PoolConfig): ReturnType<PostgreSqlConnection['createKyselyDialect']> {
    const { onPoolCreated } = overrides as { onPoolCreated?: (pool: Pool) => unknown };
    const attaching = (pool: Pool) => {
      attachPool(pool, this.config);
      return onPoolCreated?.(pool);
    };
    return super.createKyselyDialect({ ...overrides, onPoolCreated: attaching } as PoolConfig);
  }

  override async begin(options: BeginOptions = {}): ReturnType<PostgreSqlConnection['begin']> {
    try {
      return await super.begin(options);
    } catch (error) {
      if (!(await this.#sawDisconnect(error)) || options.ctx) throw this.#explained(error);
      return super.begin(options);
    }
  }

  override commit(ctx: Transaction, ...rest: RestOf<PostgreSqlConnection['commit']>): Promise<void> {
    return this.#noticingDisconnects(super.commit(ctx, ...rest));
  }

  override rollback(ctx: Transaction, ...rest: RestOf<PostgreSqlConnection['rollback']>): Promise<void> {
    return this.#noticingDisconnects(super.rollback(ctx, ...rest));
  }

  async #noticingDisconnects(work: Promise<void>): Promise<void> {
    try {
      await work;
    } catch (error) {
      await this.#sawDisconnect(error);
      throw error;
    }
  }

  /**
   * MikroORM's schema generator checks that the database exists before every schema command, even
   * with `ensureDatabase: false`, and creates it when the check fails with PostgreSQL's "does not
   * exist". Our error does not say that, so the check fails instead, unless creation was asked for.
   */
  #explained(error: unknown): unknown {
    if (!isMissingDatabaseError(error) || databaseCreationAllowed(this.config)) return error;
    return missingDatabaseError(this.config, error);
  }

  /**
   * Also waits a moment before the retry: a failover, or an administrator killing every backend,
   * takes a few milliseconds to reach them all, and a connection validated in between would die too.
   */
  async #sawDisconnect(error: unknown): Promise<boolean> {
    // Through PgBouncer a missing database is a pooler error of class 08, yet no lost connection.
    if (!isDisconnectError(error) || isMissingDatabaseError(error)) return false;
    invalidatePool((await this.getNativeClient()) as Pool);
    await sleep(RETRY_DELAY_MS);
    return true;
  }
}

type RestOf<F> = F extends (first: never, ...rest: infer R) => unknown ? R : never;

/**
 * MikroORM's PostgreSQL driver with `ResilientPostgreSqlConnection` for the primary and a
 * `ReplicaConnection` for every replica, and `SafeSchemaGenerator` as `orm.schema` (so the MikroORM
 * CLI cannot drop data either). Reads outside a transaction go to a replica that is up, unless
 * their Session has written (see `ReadYourWritesEntityManager`); everything else to the primary.
 * It replaces the driver's `connection`, `replicas` and `platform` fields, which MikroORM keeps
 * protected (not a public API); tests/dependency-internals.int.test.ts fails if a MikroORM version
 * stops using them.
 */
export class ResilientPostgreSqlDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    const self = this as unknown as {
      connection: PostgreSqlConnection;
      replicas: ReplicaConnection[];
      platform: SafeSchemaPostgreSqlPlatform;
    };
    self.platform = new SafeSchemaPostgreSqlPlatform();
    self.connection = new ResilientPostgreSqlConnection(this.config);
    self.replicas = this.createReplicas(
      (replica) => new ReplicaConnection(this.config, replica as ReplicaOptions, () => this.connection),
    ) as ReplicaConnection[];
  }

  /** The read replicas (empty without any), for health checks. */
  get replicaConnections(): readonly ReplicaConnection[] {
    return this.replicas as unknown as ReplicaConnection[];
  }

  override getConnection(type: ConnectionType = 'write'): PostgreSqlConnection {
    if (type === 'write') return this.connection;
    return readConnection(this.replicaConnections, this.connection);
  }

  /** `em.createQueryBuilder()` of a Session that wrote reads from the primary. */
  override createQueryBuilder<T extends object>(
    entityName: EntityName<T> | AnyQueryBuilder<T>,
    ctx?: Transaction,
    connectionType?: ConnectionType,
    convertCustomTypes?: boolean,
    loggerContext?: LoggingOptions,
    alias?: string,
    em?: SqlEntityManager,
  ): AnyQueryBuilder<T> {
    const type = hasWritten(em as EntityManager | undefined) ? 'write' : connectionType;
    return super.createQueryBuilder<T>(entityName, ctx, type, convertCustomTypes, loggerContext, alias, em);
  }

  /** Our own errors (a missing database) reach the caller as they are, not disguised as a driver error. */
  override convertException(exception: Error): DriverException {
    if (isInversifyMikroOrmError(exception)) return exception as unknown as DriverException;
    return super.convertException(exception);
  }

  // MikroORM's own reads: every statement they send is a select the ORM built from entity metadata.
  // A Session that wrote reads its writes back from the primary.

  override find<T extends object, P extends string = never, F extends string = never, E extends string = never>(
    entityName: EntityName<T>,
    where: ObjectQuery<T>,
    options?: FindOptions<T, P, F, E>,
  ): Promise<EntityData<T>[]> {
    return retryableRead(() => super.find(entityName, where, primaryIfWritten(options)));
  }

  override findOne<T extends object, P extends string = never, F extends string = never, E extends string = never>(
    entityName: EntityName<T>,
    where: ObjectQuery<T>,
    options?: FindOneOptions<T, P, F, E>,
  ): Promise<EntityData<T> | null> {
    return retryableRead(() => super.findOne(entityName, where, primaryIfWritten(options)));
  }

  override count<T extends object>(
    entityName: EntityName<T>,
    where: unknown,
    options?: CountOptions<T>,
  ): Promise<number> {
    return retryableRead(() => super.count(entityName, where, primaryIfWritten(options)));
  }

  override loadFromPivotTable<T extends object, O extends object>(
    prop: EntityProperty,
    owners: Primary<O>[][],
    where?: FilterQuery<unknown>,
    orderBy?: OrderDefinition<T>,
    ctx?: Transaction,
    options?: FindOptions<T, never, never, never>,
    pivotJoin?: boolean,
  ): Promise<Dictionary<T[]>> {
    return retryableRead(() =>
      super.loadFromPivotTable(prop, owners, where, orderBy, ctx, primaryIfWritten(options), pivotJoin),
    );
  }
}

/** The options MikroORM passes its reads carry the Session that asked (`em`). */
function primaryIfWritten<O extends { em?: unknown; connectionType?: ConnectionType }>(
  options: O | undefined,
): O | undefined {
  if (!hasWritten(options?.em as EntityManager | undefined)) return options;
  return { ...(options as O), connectionType: 'write' };
}
