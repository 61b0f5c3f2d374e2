import type { BootFigures } from './boot.js';
import type { GainFigures } from './gains.js';
import type { HttpFigures } from './http-throughput.js';
import type { Machine } from './machine.js';
import type { MemoryFigures } from './memory.js';
import type { Profile } from './options.js';
import type { ResolutionFigures } from './resolution.js';
import type { SaturationFigures } from './saturation.js';

/** Everything one run measured: written to bench/results/latest.json, and the source of BENCHMARKS.md. */
export interface BenchResults {
  date: string;
  command: string;
  profile: Profile;
  machine: Machine;
  durationSeconds: number;
  resolution?: ResolutionFigures;
  http?: HttpFigures;
  saturation?: SaturationFigures;
  memory?: MemoryFigures;
  boot?: BootFigures;
  gains?: GainFigures[];
}
