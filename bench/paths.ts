import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled bench lives in dist/bench; entries are found relative to it, whatever the cwd. */
const distBench = path.dirname(fileURLToPath(import.meta.url));

export const paths = {
  root: path.resolve(distBench, '../..'),
  /** The Tasks API exactly as `npm start` runs it. */
  tasksApi: path.resolve(distBench, '../src/app/main.js'),
  bench: (file: string) => path.resolve(distBench, file),
  results: path.resolve(distBench, '../../bench/results'),
  benchmarksMd: path.resolve(distBench, '../../BENCHMARKS.md'),
};
