import os from 'node:os';
import autocannon, { type Request } from 'autocannon';
import type { LoadRequest, LoadResult, LoadSpec } from './load-spec.js';
import { cpuTimes } from './process-cpu.js';
import { percentile } from './stats.js';

/**
 * The load generator: a process of its own (started by load-client.ts), so its CPU use is not
 * charged to the server under test, talking to it over loopback. Prints one LoadResult as JSON.
 */
const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;

function toAutocannon(request: LoadRequest): Request {
  if (request.body === undefined) return { method: request.method, path: request.path };
  return {
    method: request.method,
    path: request.path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request.body),
  };
}

const requests = spec.requests.map(toAutocannon);
// autocannon stops on its sampling tick: every 100 ms rather than every second, so short runs end on time.
const base = { url: spec.url, connections: spec.connections, requests, timeout: 30, sampleInt: 100 };

if (spec.warmupSeconds > 0) await autocannon({ ...base, duration: spec.warmupSeconds });

// autocannon's own histogram keeps whole milliseconds; sub-millisecond latencies need every sample.
let latencies = new Float64Array(1 << 16);
let count = 0;
const statusCodes: Record<string, number> = {};
const measured = spec.amount ? { ...base, amount: spec.amount } : { ...base, duration: spec.durationSeconds ?? 10 };
const serverCpu = () => (spec.serverPid ? cpuTimes(spec.serverPid) : undefined);
const cpuBefore = serverCpu();
const started = process.hrtime.bigint();
const instance = autocannon(measured);
instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = responseTime;
  statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
});
const result = await instance;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpuAfter = serverCpu();
const sorted = latencies.subarray(0, count).sort();
const output: LoadResult = {
  responses: count,
  seconds,
  requestsPerSecond: count / seconds,
  p50Ms: percentile(sorted, 0.5),
  p99Ms: percentile(sorted, 0.99),
  maxMs: sorted[count - 1] ?? 0,
  non2xx: result.non2xx,
  errors: result.errors,
  statusCodes,
  loadAverage: os.loadavg()[0] ?? 0,
};
if (cpuBefore && cpuAfter && count > 0) {
  const usedMs = cpuAfter.userMs + cpuAfter.systemMs - cpuBefore.userMs - cpuBefore.systemMs;
  output.serverCpuUsPerResponse = (usedMs * 1000) / count;
}
process.stdout.write(`${JSON.stringify(output)}\n`);
