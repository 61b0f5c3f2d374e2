import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DatabaseSchema } from '@mikro-orm/sql';
import { FINGERPRINT_TABLE } from './library-tables.js';
import type { Orm } from './orm.js';
import { SafeSchemaGenerator } from './safe-schema-generator.js';

/** Any fixed 64-bit number; shared by every instance of every service using this library. */
const SCHEMA_LOCK_KEY = 7_344_210_981_523n;

export type SchemaSyncOutcome = 'unchanged' | 'updated' | 'already-updated';

/**
 * Brings the database schema up to the entity metadata without ever dropping a table or column.
 *
 * Fast path: a fingerprint of the target schema is stored after each update; when it matches, no
 * diff is computed (a boot with nothing changed costs one small query). Otherwise the update runs
 * inside a transaction holding a transaction-level advisory lock, so concurrent boots apply it
 * once, it works through PgBouncer in transaction mode, and a failed update leaves nothing half
 * applied (PostgreSQL DDL is transactional).
 */
export async function syncSchema(orm: Orm): Promise<SchemaSyncOutcome> {
  const fingerprint = schemaFingerprint(orm);
  const em = orm.em.fork();
  if ((await readFingerprint(em)) === fingerprint) return 'unchanged';

  return em.transactional(async (tx) => {
    await tx.execute('select pg_advisory_xact_lock(?)', [SCHEMA_LOCK_KEY.toString()]);
    // Before reading, take a lock on the table (creating it if needed): PostgreSQL refreshes its
    // catalog caches on relation locks, not advisory ones, so a name lookup such as to_regclass
    // could still miss the table the previous lock holder just committed, and update twice.
    await tx.execute(
      `create table if not exists ${FINGERPRINT_TABLE} (id int primary key, fingerprint text not null, updated_at timestamptz not null default now())`,
    );
    const [stored] = await tx.execute<{ fingerprint: string }[]>(
      `select fingerprint from ${FINGERPRINT_TABLE} where id = 1`,
    );
    if (stored?.fingerprint === fingerprint) return 'already-updated';
    const sql = await safeUpdateSql(orm, tx);
    if (sql.trim()) await tx.execute(sql);
    await tx.execute(
      `insert into ${FINGERPRINT_TABLE} (id, fingerprint) values (1, ?) on conflict (id) do update set fingerprint = excluded.fingerprint, updated_at = now()`,
      [fingerprint],
    );
    return 'updated';
  });
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

/** A hash of the schema the metadata asks for: computed in memory, no database round trip. */
export function schemaFingerprint(orm: Orm): string {
  const target = orm.schema.getTargetSchema();
  const tables = target.getTables().map((table) => ({
    name: table.getShortestName(),
    columns: table.getColumns(),
    indexes: table.getIndexes(),
    checks: table.getChecks(),
    foreignKeys: table.getForeignKeys(),
  }));
  return createHash('sha256').update(JSON.stringify(tables)).digest('hex');
}

async function readFingerprint(em: ReturnType<Orm['em']['fork']>): Promise<string | undefined> {
  const [table] = await em.execute<{ present: boolean }[]>('select to_regclass(?) is not null as present', [
    FINGERPRINT_TABLE,
  ]);
  if (!table?.present) return undefined;
  const [row] = await em.execute<{ fingerprint: string }[]>(
    `select fingerprint from ${FINGERPRINT_TABLE} where id = 1`,
  );
  return row?.fingerprint;
}
