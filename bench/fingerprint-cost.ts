import { runJsonChild } from './child.js';
import type { FingerprintRun, Implementation } from './fingerprint.js';
import type { Profile } from './options.js';
import { paths } from './paths.js';
import { median, round } from './stats.js';

export interface FingerprintCost {
  entities: number;
  runs: number;
  /** Medians over fresh processes of the first call, as a boot makes it. */
  targetSchemaMs: number;
  metadataMs: number;
  /** Median over runs of (target schema / metadata), each pair measured back to back. */
  speedup: number;
  /** Medians of the calls after the first, for reference. */
  targetSchemaWarmMs: number;
  metadataWarmMs: number;
}

/**
 * Item 3: the fingerprint a boot with nothing changed computes before its query, the way it was
 * (MikroORM's target schema) and the way it is (the metadata), each in fresh processes, in pairs
 * back to back so that load from elsewhere on the machine hits both alike.
 */
export async function fingerprintCost(
  profile: Profile['boot']['fingerprint'],
  progress: (message: string) => void,
): Promise<FingerprintCost[]> {
  const measure = (entities: number, implementation: Implementation) =>
    runJsonChild<FingerprintRun>(paths.bench('fingerprint.js'), [String(entities), implementation]);
  const costs: FingerprintCost[] = [];
  for (const entities of profile.entities) {
    const target: FingerprintRun[] = [];
    const metadata: FingerprintRun[] = [];
    for (let run = 0; run < profile.runs; run++) {
      target.push(await measure(entities, 'target-schema'));
      metadata.push(await measure(entities, 'metadata'));
    }
    const cost: FingerprintCost = {
      entities,
      runs: profile.runs,
      targetSchemaMs: round(median(target.map((run) => run.firstMs))),
      metadataMs: round(median(metadata.map((run) => run.firstMs))),
      speedup: round(median(target.map((run, i) => run.firstMs / (metadata[i] as FingerprintRun).firstMs)), 1),
      targetSchemaWarmMs: round(median(target.map((run) => run.warmMs)), 3),
      metadataWarmMs: round(median(metadata.map((run) => run.warmMs)), 3),
    };
    progress(
      `fingerprint, ${entities} entities: target schema ${cost.targetSchemaMs} ms, metadata ${cost.metadataMs} ms (×${cost.speedup})`,
    );
    costs.push(cost);
  }
  return costs;
}
