import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onPath } from './local-postgres.js';
import { freePort, waitUntilListening } from './ports.js';

const run = promisify(execFile);

/**
 * A real PgBouncer (the Debian package) in front of a TLS PostgreSQL, speaking TLS to its clients
 * and logging them in with SCRAM-SHA-256, which it offers without the channel-bound variant
 * (SCRAM-SHA-256-PLUS): a pooler a client meets where it expected the server itself.
 */
export class ScramPgBouncer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(server: {
    port: number;
    user: string;
    password: string;
    database: string;
  }): Promise<ScramPgBouncer> {
    if (!onPath('pgbouncer')) {
      throw new Error('This test runs a real PgBouncer, which is not on PATH: apt-get install -y pgbouncer.');
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'scram-pgbouncer-'));
    await chmod(dir, 0o777); // it refuses to run as root, and runs as `postgres` instead
    const at = (name: string) => path.join(dir, name);
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      at('bouncer.key'),
      '-out',
      at('bouncer.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    await chmod(at('bouncer.key'), 0o644);
    const port = await freePort();
    await writeFile(at('userlist.txt'), `"${server.user}" "${server.password}"\n`);
    await writeFile(
      at('pgbouncer.ini'),
      [
        '[databases]',
        `${server.database} = host=127.0.0.1 port=${server.port} dbname=${server.database}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = scram-sha-256',
        `auth_file = ${at('userlist.txt')}`,
        'client_tls_sslmode = require',
        `client_tls_key_file = ${at('bouncer.key')}`,
        `client_tls_cert_file = ${at('bouncer.crt')}`,
        'server_tls_sslmode = require',
        'pool_mode = session',
        'ignore_startup_parameters = extra_float_digits,options',
        `logfile = ${at('pgbouncer.log')}`,
        '',
      ].join('\n'),
    );
    const asRoot = process.getuid?.() === 0;
    const child = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), at('pgbouncer.ini')], { stdio: 'ignore' });
    const bouncer = new ScramPgBouncer(child, dir, port);
    await waitUntilListening(port, child, () => 'pgbouncer');
    return bouncer;
  }

  /** `url` with its host and port replaced by this PgBouncer's. */
  urlFor(url: string): string {
    const pooled = new URL(url);
    pooled.hostname = '127.0.0.1';
    pooled.port = String(this.port);
    return pooled.href;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGINT');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
