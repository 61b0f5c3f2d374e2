import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Preloaded into a server under test (`node --import .../cpu-profiler.js`) by the profiling run:
 * the first SIGUSR2 starts V8's sampling profiler, the second stops it and writes the profile to
 * `${BENCH_CPU_PROFILE}-<n>.cpuprofile` for the n-th window (renamed into place, so the runner
 * never reads half a file). Only the
 * measured window is profiled, not the boot or the JIT warm-up (`node --cpu-prof` takes both).
 */
const target = process.env.BENCH_CPU_PROFILE;
if (!target) throw new Error('BENCH_CPU_PROFILE is required with the cpu-profiler preload');
const intervalMicros = Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US || 100);

const session = new Session();
session.connect();
let running = false;
let windows = 0;

process.on('SIGUSR2', () => {
  void toggle().catch((error: Error) => process.stderr.write(`cpu-profiler: ${error.stack}\n`));
});

async function toggle(): Promise<void> {
  if (!running) {
    running = true;
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalMicros });
    await session.post('Profiler.start');
    return;
  }
  running = false;
  const { profile } = await session.post('Profiler.stop');
  const file = `${target}-${++windows}.cpuprofile`;
  writeFileSync(`${file}.partial`, JSON.stringify(profile));
  renameSync(`${file}.partial`, file);
}
