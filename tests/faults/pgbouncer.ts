import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitUntilListening } from '../helpers/ports.js';

/** A real PgBouncer (the Debian package) in transaction pooling mode, in front of `serverUrl`. */
export class PgBouncer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(serverUrl: string): Promise<PgBouncer> {
    const server = new URL(serverUrl);
    const user = decodeURIComponent(server.username || 'postgres');
    const password = decodeURIComponent(server.password);
    const dir = await mkdtemp(path.join(tmpdir(), 'pgbouncer-'));
    await chmod(dir, 0o777); // it refuses to run as root, and runs as `postgres` instead
    const port = await freePort();
    const serverPassword = password ? ` password=${password}` : '';
    await writeFile(path.join(dir, 'userlist.txt'), `"${user}" ""\n`);
    await writeFile(
      path.join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${server.hostname} port=${server.port || 5432} user=${user}${serverPassword}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${path.join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        'max_client_conn = 500',
        'default_pool_size = 40',
        'ignore_startup_parameters = extra_float_digits,options',
        `logfile = ${path.join(dir, 'pgbouncer.log')}`,
        '',
      ].join('\n'),
    );
    const asRoot = process.getuid?.() === 0;
    const child = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], {
      stdio: 'ignore',
    });
    const bouncer = new PgBouncer(child, dir, port);
    await waitUntilListening(port, child, () => 'pgbouncer');
    return bouncer;
  }

  /** `databaseUrl` rewritten to go through this PgBouncer. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    url.password = '';
    return url.href;
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
