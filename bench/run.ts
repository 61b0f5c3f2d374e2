import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { boot } from './boot.js';
import { runJsonChild } from './child.js';
import { BenchDatabase } from './database.js';
import { gains } from './gains.js';
import { httpThroughput } from './http-throughput.js';
import { describeMachine } from './machine.js';
import { memory } from './memory.js';
import { parseArgs, type Stage } from './options.js';
import { paths } from './paths.js';
import { preparePeers } from './peers.js';
import { renderTable, updateMarkdown } from './report.js';
import type { ResolutionFigures } from './resolution.js';
import type { BenchResults } from './results.js';
import { saturation } from './saturation.js';
import { ServerProcess } from './server-process.js';
import { SEEDED_TASKS } from './workloads.js';

/**
 * `npm run bench` (about 20 minutes), `npm run bench -- --quick` (about a minute, same shape, no
 * peer servers unless `--peers`).
 * Starts every server as a real process on a fresh `bench_*` database, loads it from another
 * process, writes bench/results/latest.json and rewrites the tables in BENCHMARKS.md.
 */
const args = process.argv.slice(2);
const options = parseArgs(args, path.join(paths.results, 'latest.json'));
const { profile } = options;
const startedAt = Date.now();
const log = (message: string) =>
  process.stdout.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

const databases: BenchDatabase[] = [];
async function database(label: string, tasks?: number): Promise<BenchDatabase> {
  const db = await BenchDatabase.create(label);
  databases.push(db);
  if (tasks !== undefined) await db.prepareTasks(tasks);
  return db;
}

async function cleanUp(): Promise<void> {
  ServerProcess.killAll();
  await Promise.allSettled(databases.splice(0).map((db) => db.drop()));
}
// An interrupted run must not leave servers running or databases behind.
process.on('exit', () => ServerProcess.killAll());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping servers, dropping bench databases`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const has = (stage: Stage) => options.stages.includes(stage);
const results: BenchResults = {
  date: new Date().toISOString(),
  command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  profile,
  machine: await describeMachine(),
  durationSeconds: 0,
};
log(`${profile.name} run, stages: ${options.stages.join(', ')}`);
log(`machine: ${JSON.stringify(results.machine)}`);

try {
  if (has('resolution')) {
    log('1. resolution: container.get(TasksController) vs hand-wired');
    const { iterations, rounds } = profile.resolution;
    results.resolution = await runJsonChild<ResolutionFigures>(paths.bench('resolution.js'), [
      `${iterations},${rounds}`,
    ]);
    log(`resolution: ${JSON.stringify(results.resolution)}`);
  }
  if (has('http')) {
    if (options.peers) preparePeers(log);
    log(
      `2. HTTP: (a) Tasks API, (b) the same TaskService hand-wired, (c) raw pg without ORM${options.peers ? ', (d) NestJS + @mikro-orm/nestjs, (e) the Tasks API on Express' : ''}, interleaved rounds`,
    );
    results.http = await httpThroughput(await database('http', SEEDED_TASKS), profile.http, options.peers, log);
  }
  if (has('saturation')) {
    log(`3. saturation: ${profile.saturation.connections} clients, pool of ${profile.saturation.poolMax}`);
    results.saturation = await saturation(await database('saturation', SEEDED_TASKS), profile.saturation, log);
  }
  if (has('memory')) {
    log(`4. memory: RSS and heap after ${profile.memory.first} and after ${profile.memory.second} requests`);
    results.memory = await memory(await database('memory', SEEDED_TASKS), profile.memory, log);
  }
  if (has('boot')) {
    log(`5. boot: 1 entity and ${profile.boot.entities} entities, ${profile.boot.runs} boots each after a first one`);
    results.boot = await boot(await database('boot_one'), await database('boot_many'), profile.boot, log);
  }
  if (has('gains')) {
    log('gains: each optimization against the service with it undone');
    results.gains = await gains(await database('gains', SEEDED_TASKS), profile.gains, log);
  }
} finally {
  await cleanUp();
}

results.durationSeconds = Math.round((Date.now() - startedAt) / 1000);
mkdirSync(path.dirname(options.resultsFile), { recursive: true });
writeFileSync(options.resultsFile, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${path.relative(process.cwd(), options.resultsFile)}`);
if (options.writeMarkdown) {
  updateMarkdown(paths.benchmarksMd, results);
  log(`rewrote ${path.relative(process.cwd(), paths.benchmarksMd)}`);
}
process.stdout.write(`\n${renderTable(results)}\n`);
