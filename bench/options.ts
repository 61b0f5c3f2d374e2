export interface LoadProfile {
  rounds: number;
  /** Once per server after it starts, on every endpoint: the JIT compiles the hot paths here. */
  initialWarmupSeconds: number;
  /** Before each measurement. */
  warmupSeconds: number;
  measureSeconds: number;
  connections: number;
}

/** How long each benchmark runs: the full run (~20 min) or `--quick` (~1 min, same shape, less precision). */
export interface Profile {
  name: 'full' | 'quick' | 'smoke';
  http: LoadProfile;
  resolution: { rounds: number; iterations: number };
  saturation: { connections: number; poolMax: number; warmupSeconds: number; measureSeconds: number };
  memory: { runs: number; connections: number; warmupRequests: number; first: number; second: number };
  boot: { runs: number; entities: number; fingerprint: { entities: number[]; runs: number } };
  gains: LoadProfile;
}

const full: Profile = {
  name: 'full',
  http: { rounds: 7, initialWarmupSeconds: 10, warmupSeconds: 2, measureSeconds: 8, connections: 32 },
  resolution: { rounds: 7, iterations: 200_000 },
  saturation: { connections: 512, poolMax: 15, warmupSeconds: 3, measureSeconds: 20 },
  memory: { runs: 3, connections: 32, warmupRequests: 10_000, first: 50_000, second: 500_000 },
  boot: { runs: 5, entities: 200, fingerprint: { entities: [20, 200, 1000], runs: 7 } },
  gains: { rounds: 3, initialWarmupSeconds: 5, warmupSeconds: 2, measureSeconds: 6, connections: 32 },
};

const quick: Profile = {
  name: 'quick',
  http: { rounds: 3, initialWarmupSeconds: 1, warmupSeconds: 0.3, measureSeconds: 1, connections: 32 },
  resolution: { rounds: 3, iterations: 50_000 },
  saturation: { connections: 512, poolMax: 15, warmupSeconds: 0.3, measureSeconds: 2 },
  memory: { runs: 1, connections: 32, warmupRequests: 1_000, first: 3_000, second: 15_000 },
  boot: { runs: 3, entities: 200, fingerprint: { entities: [20, 200, 1000], runs: 3 } },
  gains: { rounds: 3, initialWarmupSeconds: 1, warmupSeconds: 0.5, measureSeconds: 1, connections: 32 },
};

/** For the runner's own test: every stage, tiny durations; the figures mean nothing. */
const smoke: Profile = {
  name: 'smoke',
  http: { rounds: 1, initialWarmupSeconds: 0, warmupSeconds: 0, measureSeconds: 0.2, connections: 4 },
  resolution: { rounds: 1, iterations: 1_000 },
  saturation: { connections: 64, poolMax: 15, warmupSeconds: 0, measureSeconds: 0.3 },
  memory: { runs: 1, connections: 4, warmupRequests: 100, first: 200, second: 600 },
  boot: { runs: 1, entities: 5, fingerprint: { entities: [5], runs: 1 } },
  gains: { rounds: 1, initialWarmupSeconds: 0, warmupSeconds: 0, measureSeconds: 0.2, connections: 4 },
};

export const STAGES = ['resolution', 'http', 'saturation', 'memory', 'boot', 'gains'] as const;
export type Stage = (typeof STAGES)[number];
/** The five figures of the issue; `gains` (the A/B of each optimization) runs in full runs or on request. */
const QUICK_STAGES: Stage[] = ['resolution', 'http', 'saturation', 'memory', 'boot'];

export interface RunOptions {
  profile: Profile;
  stages: Stage[];
  /** Rewrite BENCHMARKS.md (off for smoke runs and partial runs unless asked). */
  writeMarkdown: boolean;
  /**
   * Add the peer servers (d) NestJS and (e) Express to the HTTP comparison. On in full runs, off in
   * `--quick` and `--smoke` unless `--peers` (their first run installs bench/peers from npm).
   */
  peers: boolean;
  resultsFile: string;
}

export function parseArgs(argv: string[], defaultResultsFile: string): RunOptions {
  let profile = full;
  let stages: Stage[] = [...STAGES];
  let writeMarkdown: boolean | undefined;
  let peers: boolean | undefined;
  let resultsFile = defaultResultsFile;
  let stagesGiven = false;
  for (const arg of argv) {
    if (arg === '--quick') profile = quick;
    else if (arg === '--smoke') profile = smoke;
    else if (arg.startsWith('--only=')) {
      const wanted = arg.slice('--only='.length).split(',');
      const unknown = wanted.filter((stage) => !(STAGES as readonly string[]).includes(stage));
      if (unknown.length > 0) throw new Error(`unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`);
      stages = wanted as Stage[];
      stagesGiven = true;
    } else if (arg === '--no-markdown') writeMarkdown = false;
    else if (arg === '--markdown') writeMarkdown = true;
    else if (arg === '--peers') peers = true;
    else if (arg === '--no-peers') peers = false;
    else if (arg.startsWith('--results=')) resultsFile = arg.slice('--results='.length);
    else
      throw new Error(
        `unknown option ${arg} (options: --quick, --smoke, --only=${STAGES.join(',')}, --peers, --no-peers, --markdown, --no-markdown, --results=FILE)`,
      );
  }
  if (!stagesGiven && profile.name !== 'full') stages = [...QUICK_STAGES];
  // A partial run would leave half a table: only complete runs rewrite BENCHMARKS.md unless asked.
  writeMarkdown ??= profile.name !== 'smoke' && QUICK_STAGES.every((stage) => stages.includes(stage));
  peers ??= profile.name === 'full';
  return { profile, stages, writeMarkdown, resultsFile, peers };
}
