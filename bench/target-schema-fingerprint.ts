import { createHash } from 'node:crypto';
import type { Orm } from '../src/orm.js';

/**
 * The fingerprint as the library computed it before it hashed the metadata directly: MikroORM's
 * target schema, built and serialized. Kept as the reference the new one is measured against
 * (bench/fingerprint.ts) and checked against (tests/schema-fingerprint.test.ts).
 */
export function targetSchemaFingerprint(orm: Orm): { fingerprint: string; entitySet: string } {
  const target = orm.schema.getTargetSchema();
  const tables = target.getTables().map((table) => ({
    name: table.getShortestName(),
    columns: table.getColumns(),
    indexes: table.getIndexes(),
    checks: table.getChecks(),
    foreignKeys: table.getForeignKeys(),
  }));
  const names = target.getTables().map((table) => table.getShortestName());
  return { fingerprint: sha256(JSON.stringify(tables)), entitySet: sha256(JSON.stringify(names.sort())) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
