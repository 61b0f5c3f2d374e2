import type { IsolatedDatabase } from '../helpers/test-database.js';

/**
 * Kills every server process serving `applicationName` at once, as an administrator or a failover
 * would, and resolves once they are all gone.
 */
export async function terminateBackends(db: IsolatedDatabase, applicationName: string): Promise<number> {
  const rows = await db.query<{ pid: number; killed: boolean }>(
    'select pid, pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = $1',
    [applicationName],
  );
  const pids = rows.filter((row) => row.killed).map((row) => row.pid);
  while ((await db.query('select 1 from pg_stat_activity where pid = any($1)', [pids])).length > 0) await sleep(5);
  return pids.length;
}

/** A DATABASE_URL that tags every connection with `applicationName`, so pg_stat_activity can find them. */
export function taggedUrl(url: string, applicationName: string): string {
  const tagged = new URL(url);
  tagged.searchParams.set('application_name', applicationName);
  return tagged.href;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seeds `count` tasks and returns their ids. */
export async function seedTasks(db: IsolatedDatabase, count: number): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    "insert into task (title, done, created_at, updated_at) select 'seed ' || i, false, now(), now() from generate_series(1, $1) as i returning id",
    [count],
  );
  return rows.map((row) => row.id);
}
