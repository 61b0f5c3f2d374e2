import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { TaskSchema } from '../src/app/task.entity.js';
import { loadDatabaseConfig } from '../src/index.js';
import type { Orm } from '../src/orm.js';
import { schemaIdentity } from '../src/schema-fingerprint.js';
import { generatedEntities } from './generated-entities.js';
import { median, round } from './stats.js';
import { targetSchemaFingerprint } from './target-schema-fingerprint.js';

/**
 * In a process of its own (started by fingerprint-cost.ts): what a boot with nothing changed
 * computes before its one query, with the Tasks API's entity plus generated ones. `firstMs` is the
 * call a boot makes (a fresh process: nothing warmed up but discovery); `warmMs` the median of the
 * calls after it.
 */
export interface FingerprintRun {
  firstMs: number;
  warmMs: number;
}

const implementations = {
  /** Since issue 12: the entity metadata, hashed directly. */
  metadata: (orm: Orm) => schemaIdentity(orm),
  /** Before: MikroORM's target schema, built and serialized. */
  'target-schema': (orm: Orm) => targetSchemaFingerprint(orm),
};
export type Implementation = keyof typeof implementations;

const WARM_CALLS = 10;

const [count = '200', implementation = 'metadata'] = process.argv.slice(2);
const compute = implementations[implementation as Implementation];
if (!compute) throw new Error(`unknown implementation ${implementation} (${Object.keys(implementations).join(', ')})`);
// No connection is needed: MikroORM connects lazily, and both fingerprints are computed in memory.
const config = loadDatabaseConfig(
  { entities: [TaskSchema, ...generatedEntities(Number(count) - 1)] },
  { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', DB_SCHEMA_UPDATE: 'off' },
);
const orm = new MikroORM(config);
const time = () => {
  const started = performance.now();
  compute(orm);
  return performance.now() - started;
};
const firstMs = time();
const warm = Array.from({ length: WARM_CALLS }, time);
await orm.close();
const run: FingerprintRun = { firstMs: round(firstMs, 3), warmMs: round(median(warm), 3) };
process.stdout.write(`${JSON.stringify(run)}\n`);
