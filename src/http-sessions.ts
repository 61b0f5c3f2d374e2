import type { ServerResponse } from 'node:http';
import type { Orm } from './orm.js';
import { runInNewSession } from './session.js';
import { releaseSession, type SessionLogger } from './session-release.js';

/**
 * One Session per HTTP request, for any framework built on `node:http` (the Fastify and Express
 * entries). The rest of the request runs inside MikroORM's `RequestContext` with a fresh fork, so
 * every injection point shares it; at the end a transaction still open is rolled back.
 *
 * "The end" is when the code has ended the response (`res.end()`) AND the connection is done with
 * it (`close`). A client that disconnects early only gives the second: the handler is still
 * running, and rolling back under it would let its next statements commit on their own (half a
 * transaction). So the release waits for the handler to end the response, whatever the client does.
 */
export class HttpSessions {
  readonly #releasing = new Set<Promise<void>>();

  constructor(private readonly orm: Orm) {}

  /** Runs `next` (the rest of the framework's chain) in a new Session bound to `res`. */
  run(res: ServerResponse, log: SessionLogger, where: () => string, next: () => void): void {
    runInNewSession(this.orm, (session) => {
      let ended = false;
      let closed = false;
      // Nearly every request ends with no transaction open: no promise, no allocation beyond these closures.
      const release = () => {
        if (!session.isInTransaction()) return;
        const releasing = releaseSession(session, log, where()).then(() => undefined);
        this.#releasing.add(releasing);
        releasing.finally(() => this.#releasing.delete(releasing));
      };
      const end = res.end;
      res.end = function (this: ServerResponse, ...args: Parameters<ServerResponse['end']>) {
        res.end = end;
        ended = true;
        const result = end.apply(this, args);
        if (closed) release();
        return result;
      } as ServerResponse['end'];
      res.once('close', () => {
        closed = true;
        if (ended) release();
      });
      next();
    });
  }

  /** Resolves once every rollback started at the end of a request has finished (for a clean close). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#releasing]);
  }
}
