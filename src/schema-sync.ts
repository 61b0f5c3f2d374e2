import { type Dictionary, TableNotFoundException } from '@mikro-orm/core';
import { DatabaseSchema, type EntityManager } from '@mikro-orm/postgresql';
import { FINGERPRINT_TABLE } from './library-tables.js';
import type { Orm } from './orm.js';
import { SafeSchemaGenerator } from './safe-schema-generator.js';
import { schemaIdentity } from './schema-fingerprint.js';
import { withSchemaLock } from './schema-lock.js';
import { abortable } from './timeout.js';

export type SchemaSyncOutcome = 'unchanged' | 'updated' | 'already-updated';

/**
 * Brings the database schema up to the entity metadata without ever dropping a table or column.
 *
 * Fast path: a fingerprint of the schema the entities ask for (`schemaIdentity`, read from the
 * metadata without building the target schema) is stored after each update, keyed by the set of
 * tables the entities map; when it matches, no diff is computed (a boot with nothing changed
 * costs one small query). Otherwise the update runs under the schema lock (`withSchemaLock`), so
 * concurrent boots apply it once, it works through PgBouncer in transaction mode, a failed update
 * leaves nothing half applied, and an aborted `signal` (a stop during the boot) rolls it back.
 */
export async function syncSchema(orm: Orm, signal?: AbortSignal): Promise<SchemaSyncOutcome> {
  const { fingerprint, entitySet } = schemaIdentity(orm);
  const em = orm.em.fork();
  if ((await abortable(readFingerprint(em, entitySet), signal)) === fingerprint) return 'unchanged';

  return withSchemaLock(
    orm,
    async (tx) => {
      const run = <T extends Dictionary[] = Dictionary[]>(sql: string, params: unknown[] = []) => {
        signal?.throwIfAborted();
        return tx.execute<T>(sql, params);
      };
      // Before reading, take a lock on the table (creating it if needed): PostgreSQL refreshes its
      // catalog caches on relation locks, not advisory ones, so a name lookup such as to_regclass
      // could still miss the table the previous lock holder just committed, and update twice.
      await run(
        `create table if not exists ${FINGERPRINT_TABLE} (entity_set text primary key, fingerprint text not null, updated_at timestamptz not null default now())`,
      );
      const [stored] = await run<{ fingerprint: string }[]>(
        `select fingerprint from ${FINGERPRINT_TABLE} where entity_set = ?`,
        [entitySet],
      );
      if (stored?.fingerprint === fingerprint) return 'already-updated';
      const sql = await safeUpdateSql(orm, tx);
      if (sql.trim()) await run(sql);
      await run(
        `insert into ${FINGERPRINT_TABLE} (entity_set, fingerprint) values (?, ?) on conflict (entity_set) do update set fingerprint = excluded.fingerprint, updated_at = now()`,
        [entitySet, fingerprint],
      );
      return 'updated';
    },
    signal,
  );
}

/**
 * The update SQL, diffed against the schema read inside `tx` (so under the lock). Built with
 * `SafeSchemaGenerator` whatever `orm.schema` is, so an ORM configured with another driver still
 * never loses data on boot.
 */
async function safeUpdateSql(orm: Orm, tx: EntityManager): Promise<string> {
  const generator = new SafeSchemaGenerator(orm.em);
  const current = await DatabaseSchema.create(
    orm.em.getConnection(),
    orm.em.getPlatform(),
    orm.config,
    undefined,
    generator.getTargetSchema().getNamespaces(),
    undefined,
    undefined,
    undefined,
    tx.getTransactionContext(),
  );
  return generator.getUpdateSchemaSQL({ wrap: false, fromSchema: current });
}

/** One statement: on a database this library never updated, the table is missing and that is the answer. */
async function readFingerprint(em: EntityManager, entitySet: string): Promise<string | undefined> {
  try {
    const [row] = await em.execute<{ fingerprint: string }[]>(
      `select fingerprint from ${FINGERPRINT_TABLE} where entity_set = ?`,
      [entitySet],
    );
    return row?.fingerprint;
  } catch (error) {
    if (error instanceof TableNotFoundException) return undefined;
    throw error;
  }
}
