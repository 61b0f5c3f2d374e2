import type { AnyEntity, Configuration, Dictionary, EntityData, Transaction } from '@mikro-orm/core';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { NativeQueryBuilder, QueryResult, RawQueryFragment } from '@mikro-orm/sql';
import { isDisconnectError } from './database-errors.js';

type Query = string | NativeQueryBuilder | RawQueryFragment;

/** Only a plain `select` is safe to send twice: it changes nothing, whatever happened to the first try. */
const READ_ONLY = /^\s*\(?\s*select\b/i;

function sqlOf(query: Query): string {
  if (typeof query === 'string') return query;
  if ('compile' in query && typeof query.compile === 'function') return query.compile().sql;
  return (query as { sql?: string }).sql ?? '';
}

/**
 * A read outside a transaction that failed because its connection died is sent once more, on a
 * fresh connection (the pool has already dropped the dead one and re-validates its siblings).
 * Writes and anything inside a transaction fail as they are: retrying could apply a write twice.
 */
export class ResilientPostgreSqlConnection extends PostgreSqlConnection {
  override async execute<
    T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[],
  >(
    query: Query,
    params?: unknown[] | Dictionary,
    method?: 'all' | 'get' | 'run',
    ctx?: Transaction,
    loggerContext?: Dictionary,
  ): Promise<T> {
    try {
      return await super.execute<T>(query as string, params as unknown[], method, ctx, loggerContext);
    } catch (error) {
      if (ctx || !isDisconnectError(error) || !READ_ONLY.test(sqlOf(query))) throw error;
      return super.execute<T>(query as string, params as unknown[], method, ctx, loggerContext);
    }
  }
}

/** MikroORM's PostgreSQL driver with `ResilientPostgreSqlConnection` for the primary and every replica. */
export class ResilientPostgreSqlDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    const self = this as unknown as { connection: PostgreSqlConnection; replicas: PostgreSqlConnection[] };
    self.connection = new ResilientPostgreSqlConnection(this.config);
    self.replicas = this.createReplicas((replica) => new ResilientPostgreSqlConnection(this.config, replica, 'read'));
  }
}
