import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskSchema } from '../../src/app/task.entity.js';
import type { Session } from '../../src/index.js';
import type { IsolatedDatabase } from './test-database.js';

/** After the client left, how long the handler gives an end-of-request release to act under it. */
const RELEASE_GRACE_MS = 300;
const POLL_MS = 10;

export type AbortMode = 'commit' | 'leave-open';
export const ROW_TITLES = ['abort row 1', 'abort row 2'];

function deferred(): { promise: Promise<void>; resolve: () => void } {
  const settle: { resolve?: () => void } = {};
  const promise = new Promise<void>((resolve) => {
    settle.resolve = resolve;
  });
  return { promise, resolve: () => settle.resolve?.() };
}

/**
 * A client that disconnects in the middle of a transaction. The handler begins, flushes row 1,
 * waits until the client is gone (and until a release that does not wait for the handler has had
 * its chance to roll back), flushes row 2, then commits or leaves the transaction open.
 */
export class ClientAbortScenario {
  static current?: ClientAbortScenario;
  readonly #rowOne = deferred();
  readonly #finished = deferred();

  /** The handler's side, called by the framework-specific controller. */
  async handle(session: Session, socket: Socket, mode: AbortMode): Promise<{ done: true }> {
    try {
      await session.begin();
      session.create(TaskSchema, { title: ROW_TITLES[0] as string, done: false });
      await session.flush();
      const clientGone = socket.destroyed ? Promise.resolve() : once(socket, 'close');
      this.#rowOne.resolve();
      await clientGone;
      for (let waited = 0; waited < RELEASE_GRACE_MS && session.isInTransaction(); waited += POLL_MS) {
        await sleep(POLL_MS);
      }
      session.create(TaskSchema, { title: ROW_TITLES[1] as string, done: false });
      await session.flush();
      if (mode === 'commit') await session.commit();
      return { done: true };
    } finally {
      this.#finished.resolve();
    }
  }

  /** The client's side: sends the request and disconnects once row 1 is flushed; resolves when the handler is done. */
  static async run(url: string): Promise<void> {
    const scenario = new ClientAbortScenario();
    ClientAbortScenario.current = scenario;
    const request = http.request(url, { method: 'POST', agent: false });
    request.on('error', () => undefined); // the disconnect is the point
    request.end();
    await scenario.#rowOne.promise;
    request.destroy();
    await scenario.#finished.promise;
  }
}

/** The rows the scenario committed, and the connections of this database still inside a transaction. */
export async function abortOutcome(db: IsolatedDatabase): Promise<{ titles: string[]; idleInTransaction: number }> {
  const rows = await db.query<{ title: string }>('select title from task where title = any($1) order by id', [
    ROW_TITLES,
  ]);
  const [open] = await db.query<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where datname = $1 and state like 'idle in transaction%'",
    [db.name],
  );
  return { titles: rows.map((row) => row.title), idleInTransaction: open?.n ?? -1 };
}
