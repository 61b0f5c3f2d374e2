import { execFileSync } from 'node:child_process';

/**
 * Terminates backends and waits until they are gone, from another process and synchronously: this
 * process's event loop stays blocked meanwhile, so the pool cannot notice the deaths before the
 * next statement is sent on those connections (as a service under load often does not).
 */
export function terminateBlocking(url: string, pids: number[]): void {
  const script = `import pg from 'pg';
    const client = new pg.Client({ connectionString: process.argv[1] });
    await client.connect();
    await client.query('select pg_terminate_backend(pid, 5000) from unnest($1::int[]) as pid', [JSON.parse(process.argv[2])]);
    await client.end();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script, url, JSON.stringify(pids)]);
}
