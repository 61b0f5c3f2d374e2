/** What the runner asks the load generator for, passed as JSON on its command line. */
export interface LoadSpec {
  /** Base URL of the server, e.g. http://127.0.0.1:40123 */
  url: string;
  connections: number;
  /** Load sent and thrown away first, so the server's JIT, pools and caches are warm. */
  warmupSeconds: number;
  /** Measure for this long... */
  durationSeconds?: number;
  /** ...or until this many responses (takes precedence). */
  amount?: number;
  /** Each connection cycles through these in order. */
  requests: LoadRequest[];
  /** The server's process (same machine): its CPU time during the measurement is reported. */
  serverPid?: number;
}

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  /** JSON body (sent with content-type: application/json). */
  body?: unknown;
}

export interface LoadResult {
  responses: number;
  seconds: number;
  requestsPerSecond: number;
  /** Latencies in milliseconds, from every response (not autocannon's whole-millisecond histogram). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  /** Socket errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  /** The machine's 1-minute load average at the end: this run's own processes make about 2 of it. */
  loadAverage: number;
  /**
   * CPU time (user + system, all threads) the server used per response during the measurement,
   * in µs, when `serverPid` was given. It moves far less than req/s when other work shares the
   * machine: the steadier figure for comparing servers on a busy host.
   */
  serverCpuUsPerResponse?: number;
}
