import { runJsonChild } from './child.js';
import type { LoadResult, LoadSpec } from './load-spec.js';
import { paths } from './paths.js';

/** Runs the load generator (load.ts) in a process of its own and returns what it measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return runJsonChild<LoadResult>(paths.bench('load.js'), [JSON.stringify(spec)]);
}
