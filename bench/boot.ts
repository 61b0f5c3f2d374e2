import type { BenchDatabase } from './database.js';
import { type FingerprintCost, fingerprintCost } from './fingerprint-cost.js';
import type { Profile } from './options.js';
import { paths } from './paths.js';
import { type LogLine, ServerProcess } from './server-process.js';
import { median, round } from './stats.js';

export interface BootRun {
  readyMs: number;
  schemaMs: number;
  schemaOutcome: string;
}

export interface BootVariantFigures {
  entities: number;
  /** The first boot on an empty database: creates every table (the full diff). */
  firstBoot: BootRun;
  /** Later boots, nothing changed: medians. */
  readyMs: number;
  schemaCheckMs: number;
  runs: BootRun[];
}

export interface BootFigures {
  one: BootVariantFigures;
  many: BootVariantFigures;
  /** The in-memory part of the schema check, before and after issue 12, by entity count. */
  fingerprint: FingerprintCost[];
}

const isSchemaLine = (line: LogLine) => String(line.msg).startsWith('Schema ');

/**
 * Item 5: the real service process from spawn to "Server listening" (connected, schema in sync,
 * pool warm), with 1 entity (the Tasks API, dist/src/app/main.js) and with many (a bench entry
 * that adds generated entities). The first boot of each creates its schema; the measured boots
 * after it find nothing changed, so the schema step is the fingerprint check alone. The two
 * variants alternate (1, many, 1, many, ...). Then the fingerprint alone, old and new, from 20 to
 * 1000 entities (bench/fingerprint-cost.ts).
 */
export async function boot(
  dbOne: BenchDatabase,
  dbMany: BenchDatabase,
  profile: Profile['boot'],
  progress: (message: string) => void,
): Promise<BootFigures> {
  const variants = [
    { key: 'one', entry: paths.tasksApi, db: dbOne, entities: 1 },
    { key: 'many', entry: paths.bench('servers/many-entities.js'), db: dbMany, entities: profile.entities },
  ] as const;
  const bootOnce = async (variant: (typeof variants)[number]): Promise<BootRun> => {
    const server = await ServerProcess.start(`boot-${variant.key}`, variant.entry, {
      env: {
        DATABASE_URL: variant.db.url(`bench-boot-${variant.key}`),
        LOG_LEVEL: 'info',
        BENCH_ENTITIES: String(variant.entities),
      },
    });
    try {
      const schema = await server.waitFor(isSchemaLine, 5_000);
      return { readyMs: round(server.readyMs, 1), schemaMs: Number(schema.ms), schemaOutcome: String(schema.outcome) };
    } finally {
      await server.stop();
    }
  };

  const first = { one: await bootOnce(variants[0]), many: await bootOnce(variants[1]) };
  const runs: Record<'one' | 'many', BootRun[]> = { one: [], many: [] };
  for (let i = 0; i < profile.runs; i++) {
    for (const variant of variants) {
      const run = await bootOnce(variant);
      runs[variant.key].push(run);
      progress(
        `boot ${i + 1}/${profile.runs}, ${variant.entities} entities: ready in ${run.readyMs} ms, schema check ${run.schemaMs} ms (${run.schemaOutcome})`,
      );
    }
  }
  const figures = (key: 'one' | 'many', entities: number): BootVariantFigures => {
    const unchanged = runs[key].filter((run) => run.schemaOutcome === 'unchanged');
    if (unchanged.length !== runs[key].length) {
      throw new Error(`boots with nothing changed must find the schema unchanged: ${JSON.stringify(runs[key])}`);
    }
    return {
      entities,
      firstBoot: first[key],
      readyMs: round(median(runs[key].map((run) => run.readyMs)), 1),
      schemaCheckMs: round(median(runs[key].map((run) => run.schemaMs)), 2),
      runs: runs[key],
    };
  };
  return {
    one: figures('one', 1),
    many: figures('many', profile.entities),
    fingerprint: await fingerprintCost(profile.fingerprint, progress),
  };
}
