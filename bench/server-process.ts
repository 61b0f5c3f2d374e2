import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';

const LISTENING = 'Server listening at ';

export type LogLine = Record<string, unknown>;

export interface StartOptions {
  env: Record<string, string>;
  /** Extra node flags, e.g. --expose-gc. */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/**
 * One server under test as a real process: the Tasks API's main.js or a comparison server.
 *
 * Load runs use LOG_LEVEL=warn (Fastify logs two info lines per request, which would be measured
 * too), and then pino's "Server listening at" line never comes: the runner picks a free port
 * and waits until it accepts connections. With LOG_LEVEL=info (boot runs) the line is stamped the
 * moment it arrives, and `readyMs` is spawn to that line.
 */
export class ServerProcess {
  /** Every server still running, so an interrupted run can end them (see killAll). */
  static readonly #live = new Set<ChildProcess>();
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  /** Milliseconds from spawn to ready. */
  readyMs = 0;

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly spawnedAt: bigint,
  ) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const complete = buffer.split('\n');
      buffer = complete.pop() ?? '';
      for (const line of complete) this.#record(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => this.lines.push({ stderr: chunk.toString('utf8') }));
    ServerProcess.#live.add(child);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        ServerProcess.#live.delete(child);
        resolve(code);
      }),
    );
  }

  /** Synchronous, so it also works from a process 'exit' handler. */
  static killAll(): void {
    for (const child of ServerProcess.#live) child.kill('SIGKILL');
  }

  static async start(name: string, entry: string, options: StartOptions): Promise<ServerProcess> {
    const port = await freePort();
    const env = { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...options.env, PORT: String(port) };
    const spawnedAt = process.hrtime.bigint();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(name, `http://127.0.0.1:${port}`, child, spawnedAt);
    const timeoutMs = options.timeoutMs ?? 60_000;
    try {
      if (['trace', 'debug', 'info'].includes(env.LOG_LEVEL)) {
        await server.waitFor((line) => String(line.msg).startsWith(LISTENING), timeoutMs);
      } else {
        await server.#waitForPort(port, timeoutMs);
        server.readyMs = Number(process.hrtime.bigint() - spawnedAt) / 1e6;
      }
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (!this.running) throw new Error(`${this.name} exited early:\n${this.dump()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out waiting for a log line:\n${this.dump()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** SIGTERM (graceful), then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  dump(): string {
    return this.lines
      .slice(-40)
      .map((line) => JSON.stringify(line))
      .join('\n');
  }

  async #waitForPort(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await accepts(port))) {
      if (!this.running) throw new Error(`${this.name} exited early:\n${this.dump()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: port ${port} never opened:\n${this.dump()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  #record(line: string): void {
    if (!line.trim()) return;
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      parsed = { raw: line };
    }
    // Stamped as the line arrives: waitFor polls, which would blur boot times by its interval.
    if (!this.readyMs && String(parsed.msg).startsWith(LISTENING)) {
      this.readyMs = Number(process.hrtime.bigint() - this.spawnedAt) / 1e6;
    }
    this.lines.push(parsed);
  }
}

/** A port nothing listens on right now (the OS picks it; the server binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
