import { readFileSync, writeFileSync } from 'node:fs';
import type { MemoryFigures, MemoryRun, MemorySample, ServerMemory } from './memory.js';
import type { BenchResults } from './results.js';
import type { ServerKind } from './servers.js';

export interface Row {
  figure: string;
  value: string;
  ratio: string;
  target: string;
  /** undefined: reported, no target. */
  pass?: boolean;
}

const number = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (value: number) => `${number(value, value < 10 ? 2 : 1)} ms`;
const verdict = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? 'pass' : '**fail**');

const SERVER_LABELS: Array<[ServerKind, string]> = [
  ['a', '(a) Tasks API'],
  ['b', '(b) hand-wired, same TaskService'],
  ['c', '(c) raw pg, no ORM'],
  ['d', '(d) NestJS + @mikro-orm/nestjs'],
  ['e', '(e) Tasks API on Express'],
];

/** A req/s ratio, with the same ratio by server CPU time per request when it was measured. */
const withCpu = (ratio: number, cpuRatio: number | undefined) =>
  `${number(ratio, 3)}${cpuRatio === undefined || Number.isNaN(cpuRatio) ? '' : ` (CPU: ${number(cpuRatio, 3)})`}`;

/** One row per figure of the issue, each with its target and verdict. */
export function rows(results: BenchResults): Row[] {
  const out: Row[] = [];
  const { resolution, http, saturation, memory, boot } = results;
  if (resolution) {
    out.push({
      figure: '1. `container.get(TasksController)` vs fork + `new` by hand, ns/op',
      value: `${number(resolution.containerGetNs)} vs ${number(resolution.handWiredNs)} ns`,
      ratio: `+${number(resolution.bindingCostNs)} ns`,
      target: 'binding adds < 1 µs',
      pass: resolution.bindingCostNs < 1000,
    });
    out.push({
      figure: '1. the same inside a request (Session = the request fork)',
      value: `${number(resolution.inRequest.containerGetNs)} vs ${number(resolution.inRequest.handWiredNs)} ns`,
      ratio: `+${number(resolution.inRequest.bindingCostNs)} ns`,
      target: 'binding adds < 1 µs',
      pass: resolution.inRequest.bindingCostNs < 1000,
    });
  }
  if (http) {
    for (const [endpoint, f] of Object.entries(http)) {
      const isRead = endpoint.startsWith('GET');
      for (const [kind, label] of SERVER_LABELS) {
        const rps = f.requestsPerSecond[kind];
        if (rps === undefined) continue;
        const cpu = f.cpuUsPerRequest?.[kind];
        out.push({
          figure: `2. \`${endpoint}\` ${label}: req/s, p50 / p99, server CPU per request`,
          value: `${number(rps)} req/s, ${ms(f.p50Ms[kind] ?? Number.NaN)} / ${ms(f.p99Ms[kind] ?? Number.NaN)}${cpu === undefined ? '' : `, ${number(cpu)} µs`}`,
          ratio: '',
          target: '',
        });
      }
      out.push({
        figure: `2. \`${endpoint}\` a/b (same handlers: the binding is free)`,
        value: '',
        ratio: withCpu(f.ratioAB, f.cpuRatioAB),
        target: '≥ 0.98',
        pass: f.ratioAB >= 0.98,
      });
      out.push({
        figure: `2. \`${endpoint}\` a/c (ORM path against raw SQL, the floor)`,
        value: '',
        ratio: number(f.ratioAC, 3),
        target: isRead ? '≥ 0.60' : '',
        pass: isRead ? f.ratioAC >= 0.6 : undefined,
      });
      if (f.ratioAD !== undefined) {
        out.push({
          figure: `2. \`${endpoint}\` a/d (ours against NestJS + @mikro-orm/nestjs)`,
          value: '',
          ratio: withCpu(f.ratioAD, f.cpuRatioAD),
          target: '≥ 1.3',
          pass: f.ratioAD >= 1.3,
        });
      }
      if (f.ratioEA !== undefined) {
        out.push({
          figure: `2. \`${endpoint}\` e/a (the binding on Express against on Fastify)`,
          value: '',
          ratio: number(f.ratioEA, 3),
          target: 'reported',
        });
      }
      out.push({
        figure: `2. \`${endpoint}\` errors, all servers and rounds`,
        value: number(f.errors),
        ratio: '',
        target: '0',
        pass: f.errors === 0,
      });
    }
  }
  if (saturation) {
    const clients = `${saturation.connections} clients, pool ${saturation.poolMax}`;
    out.push({
      figure: `3. ${clients}: errors`,
      value: `${number(saturation.errors)} of ${number(saturation.responses)}`,
      ratio: '',
      target: '0',
      pass: saturation.errors === 0,
    });
    out.push({
      figure: `3. ${clients}: req/s, p50 / p99`,
      value: `${number(saturation.requestsPerSecond)} req/s, ${ms(saturation.p50Ms)} / ${ms(saturation.p99Ms)}`,
      ratio: '',
      target: 'reported',
    });
    out.push({
      figure: `3. ${clients}: most server connections (pg_stat_activity, every 100 ms)`,
      value: number(saturation.maxServerConnections),
      ratio: '',
      target: `≤ ${saturation.poolMax}`,
      pass: saturation.maxServerConnections <= saturation.poolMax,
    });
  }
  if (memory) out.push(...memoryRows(memory));
  if (boot) {
    for (const variant of [boot.one, boot.many]) {
      const entities = `${variant.entities} ${variant.entities === 1 ? 'entity' : 'entities'}`;
      out.push({
        figure: `5. boot, ${entities}: spawn → listening (median of ${variant.runs.length})`,
        value: ms(variant.readyMs),
        ratio: '',
        target: 'reported',
      });
      out.push({
        figure: `5. schema check, ${entities}, nothing changed (fingerprint match)`,
        value: ms(variant.schemaCheckMs),
        ratio: `first boot (full diff): ${ms(variant.firstBoot.schemaMs)}`,
        target: '< 5 ms',
        pass: variant.schemaCheckMs < 5,
      });
    }
    for (const cost of boot.fingerprint) {
      out.push({
        figure: `5. fingerprint, ${cost.entities} entities: target schema (before) vs metadata (now), fresh process (median of ${cost.runs})`,
        value: `${ms(cost.targetSchemaMs)} vs ${ms(cost.metadataMs)}`,
        ratio: `×${number(cost.speedup, 1)}`,
        target: 'reported',
      });
    }
  }
  return out;
}

/** A Markdown table laid out the way Biome formats one, so `npm run lint` stays clean after a run. */
export function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(3, title.length, ...body.map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

/** Other work on the machine shows up here: the run itself accounts for about 2. */
function httpLoad(results: BenchResults): string {
  const get = results.http?.['GET /tasks/:id'];
  return get ? `, ${number(get.loadAverage, 2)} (median) during the HTTP measurements` : '';
}

export function renderTable(results: BenchResults): string {
  const { machine } = results;
  const lines = [
    `Run: \`${results.command}\` (${results.profile.name} profile), ${results.date}, ${Math.round(results.durationSeconds)} s.`,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, load average ${machine.loadAverage} at start${httpLoad(results)}.`,
    '',
    markdownTable(
      ['figure', 'value', 'ratio', 'target', 'pass/fail'],
      rows(results).map((row) => [row.figure, row.value, row.ratio, row.target, verdict(row.pass)]),
    ),
  ];
  return lines.join('\n');
}

export function renderGains(results: BenchResults): string {
  const gains = results.gains ?? [];
  return [
    `Run: \`${results.command}\` (${results.profile.name} profile), ${results.date}; each pair measured A B A B in one run, ${results.profile.gains.rounds} rounds, median req/s.`,
    '',
    markdownTable(
      ['optimization', 'endpoint', 'with', 'without', 'gain'],
      gains.map((g) => [
        g.optimization,
        `\`${g.endpoint}\``,
        `${g.withLabel}: ${number(g.withRequestsPerSecond)} req/s`,
        `${g.withoutLabel}: ${number(g.withoutRequestsPerSecond)} req/s`,
        `×${number(g.gain, 2)}`,
      ]),
    ),
  ].join('\n');
}

/** Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->`; the rest of the file is prose. */
export function replaceBetweenMarkers(document: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < from) throw new Error(`BENCHMARKS.md has no ${start} ... ${end} section`);
  return `${document.slice(0, from + start.length)}\n${content}\n${document.slice(to)}`;
}

export function updateMarkdown(file: string, results: BenchResults): void {
  let document = readFileSync(file, 'utf8');
  document = replaceBetweenMarkers(document, 'bench', renderTable(results));
  if (results.gains) document = replaceBetweenMarkers(document, 'gains', renderGains(results));
  writeFileSync(file, document);
}

const percent = (value: number) => `${value >= 0 ? '+' : ''}${number(value, 1)} %`;
const mbDelta = (from: number, to: number) => `${to - from >= 0 ? '+' : ''}${number(to - from, 1)} MB`;

/** Item 4: growth in every run (the target holds only if it holds in each), and what the RSS growth is made of. */
function memoryRows(memory: MemoryFigures): Row[] {
  const span = `${number(memory.first)} → ${number(memory.second)} requests`;
  const runs = memory.runs;
  const each = (growth: (run: MemoryRun) => number) => runs.map((run) => percent(growth(run))).join(', ');
  const ends = (server: ServerMemory) => [server.samples[1], server.samples.at(-1)] as const;
  const values = (pick: (sample: MemorySample) => number) =>
    runs
      .map(({ tasksApi }) => {
        const [from, to] = ends(tasksApi);
        return from && to ? `${number(pick(from), 1)} → ${number(pick(to), 1)}` : '–';
      })
      .join(', ');
  const errors = runs.reduce((sum, run) => sum + run.tasksApi.errors + run.handWired.errors, 0);
  return [
    {
      figure: `4. RSS after a full GC, ${span}, ${runs.length} runs`,
      value: `${values((sample) => sample.rssMb)} MB`,
      ratio: each((run) => run.tasksApi.rssGrowthPercent),
      target: '< 10 % in every run',
      pass: runs.every((run) => run.tasksApi.rssGrowthPercent < 10),
    },
    {
      figure: `4. heap used after a full GC, ${span}, ${runs.length} runs`,
      value: `${values((sample) => sample.heapUsedMb)} MB`,
      ratio: each((run) => run.tasksApi.heapGrowthPercent),
      target: '< 10 % in every run',
      pass: runs.every((run) => run.tasksApi.heapGrowthPercent < 10),
    },
    {
      figure: '4. what the RSS growth is made of, each run: V8 heap resident (of it new space) / outside V8',
      value: runs
        .map(({ tasksApi }) => {
          const [from, to] = ends(tasksApi);
          if (!from || !to) return '–';
          const space = (sample: MemorySample) => sample.heapSpacesResidentMb.new_space ?? 0;
          return `${mbDelta(from.heapResidentMb, to.heapResidentMb)} (${mbDelta(space(from), space(to))}) / ${mbDelta(from.nativeMb, to.nativeMb)}`;
        })
        .join('; '),
      ratio: '',
      target: 'reported',
    },
    {
      figure: '4. the same load on (b), no binding: RSS, heap used, each run',
      value: '',
      ratio: `${each((run) => run.handWired.rssGrowthPercent)}; ${each((run) => run.handWired.heapGrowthPercent)}`,
      target: 'reference',
    },
    {
      figure: '4. errors during the memory runs',
      value: number(errors),
      ratio: '',
      target: '0',
      pass: errors === 0,
    },
  ];
}
