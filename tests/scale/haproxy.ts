import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitUntilListening } from '../helpers/ports.js';

/** How HAProxy health-checks each instance: what the service's SHUTDOWN_DELAY_MS must outlast. */
export const HEALTH_CHECK = { interMs: 200, fastInterMs: 100, fall: 2, rise: 1 } as const;

/** A free TCP port on 127.0.0.1 (closed again, so a process started next can take it). */

/**
 * A real HAProxy (the Debian package) balancing HTTP over `backends`, health-checking each on
 * `/health/ready` (200 means in rotation). It runs in the foreground as a child process, with an
 * admin socket to read what it thinks of each server.
 */
export class HaProxy {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => this.output.push(chunk.toString('utf8'));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // Not installed: `apt-get install haproxy` (.ci/run does).
    child.once('error', (error) => this.output.push(`could not run haproxy: ${error.message}`));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(backends: number[]): Promise<HaProxy> {
    const dir = await mkdtemp(path.join(tmpdir(), 'haproxy-'));
    const port = await freePort();
    const { interMs, fastInterMs, fall, rise } = HEALTH_CHECK;
    const config = [
      'global',
      `  stats socket ${path.join(dir, 'admin.sock')} mode 600 level admin`,
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout http-keep-alive 10s',
      // A connection refused or reset before the request was sent is tried again, on another server.
      '  retries 3',
      '  option redispatch 1',
      'frontend web',
      `  bind 127.0.0.1:${port}`,
      '  default_backend tasks',
      'backend tasks',
      '  balance roundrobin',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      `  default-server check inter ${interMs} fastinter ${fastInterMs} downinter ${interMs} fall ${fall} rise ${rise}`,
      ...backends.map((backendPort, index) => `  server app${index + 1} 127.0.0.1:${backendPort}`),
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'haproxy.cfg'), config);
    const child = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proxy = new HaProxy(child, dir, port);
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    await waitUntilListening(port, child, () => `haproxy (${proxy.output.join('')})`);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** HAProxy's view of each server: `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/1` (coming up), ... */
  async serverStates(): Promise<Map<string, string>> {
    const csv = await this.#admin('show stat');
    const [header, ...rows] = csv.split('\n').filter(Boolean);
    const columns = (header ?? '').replace(/^# /, '').split(',');
    const name = columns.indexOf('svname');
    const status = columns.indexOf('status');
    const states = new Map<string, string>();
    for (const row of rows) {
      const cells = row.split(',');
      const server = cells[name] ?? '';
      if (server !== 'FRONTEND' && server !== 'BACKEND') states.set(server, cells[status] ?? '');
    }
    return states;
  }

  async waitUntil(server: string, state: 'UP' | 'DOWN', timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = (await this.serverStates()).get(server);
      if (current === state) return;
      if (Date.now() > deadline) throw new Error(`HAProxy still sees ${server} as ${current} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  #admin(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let answer = '';
      const socket = net.connect(path.join(this.dir, 'admin.sock'), () => socket.end(`${command}\n`));
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('utf8');
      });
      socket.once('end', () => resolve(answer));
      socket.once('error', reject);
    });
  }
}
