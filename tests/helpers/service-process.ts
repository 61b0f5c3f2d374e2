import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export interface LaunchOptions {
  /** main.js (the deployed service) by default; dev.js is what `npm start` runs. */
  entry?: 'main.js' | 'dev.js';
  cwd?: string;
}

/** The built service (`dist/src/app/main.js`, built by the global setup) running as a real process. */
export class ServiceProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly exited: Promise<number | null>;
  #url?: string;

  private constructor(private readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const complete = buffer.split('\n');
      buffer = complete.pop() ?? '';
      for (const line of complete) this.#record(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => this.#record(JSON.stringify({ stderr: chunk.toString('utf8') })));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static #last?: ServiceProcess;

  /** Starts the service and waits until it listens. */
  static async start(env: Record<string, string>, options: LaunchOptions = {}): Promise<ServiceProcess> {
    const service = ServiceProcess.launch(env, options);
    const listening = await service.waitFor((line) => String(line.msg).startsWith('Server listening at '), 30_000);
    service.#url = String(listening.msg).replace('Server listening at ', '');
    return service;
  }

  /** Starts the service without waiting for it to listen (a boot that never finishes, a process that exits early). */
  static launch(env: Record<string, string>, { entry = 'main.js', cwd }: LaunchOptions = {}): ServiceProcess {
    const child = spawn(process.execPath, [path.resolve('dist/src/app', entry)], {
      cwd,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child);
    // A test worker that dies (timeout, crash) must not leave the service running.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    ServiceProcess.#last = service;
    return service;
  }

  /** Exit code and everything printed by the last process whose start() failed. */
  static async lastFailure(): Promise<{ code: number | null; output: string }> {
    const last = ServiceProcess.#last;
    if (!last) throw new Error('no service was started');
    return { code: await last.exited, output: last.dump() };
  }

  get url(): string {
    if (!this.#url) throw new Error('the service is not listening');
    return this.#url;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  count(predicate: (line: Record<string, unknown>) => boolean): number {
    return this.lines.filter(predicate).length;
  }

  async waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`service exited early:\n${this.dump()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line:\n${this.dump()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends the process if a test left it running. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  dump(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }

  #record(line: string): void {
    if (!line.trim()) return;
    try {
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      this.lines.push({ raw: line });
    }
  }
}
