import type { ServerResponse } from 'node:http';
import { MikroORM } from '@mikro-orm/core';
import type { Container } from 'inversify';
import type { Orm } from './orm.js';
import { databaseOrms } from './request-context.js';
import type { SessionLogger } from './session-release.js';
import { runInUnitOfWork, type UnitOfWork } from './unit-of-work.js';

/** What an HTTP entry covers: every database bound in a container, or one ORM's database only. */
export type SessionDatabases = Container | Orm;

function ormsOf(databases: SessionDatabases): Orm[] {
  return databases instanceof MikroORM ? [databases as Orm] : databaseOrms(databases as Container);
}

/**
 * One unit of work per HTTP request, for any framework built on `node:http` (the Fastify and
 * Express entries). The rest of the request runs inside MikroORM's `RequestContext` with a fresh
 * fork per database, so every injection point shares them; at the end a transaction still open is
 * rolled back.
 *
 * "The end" is when the code has ended the response (`res.end()`) AND the connection is done with
 * it (`close`). A client that disconnects early only gives the second: the handler is still
 * running, and rolling back under it would let its next statements commit on their own (half a
 * transaction). So the release waits for the handler to end the response, whatever the client does.
 *
 * A request that joins its caller's transaction (a test's `withRollback`) ends its savepoint
 * before the response goes out, so the caller's next statement finds the transaction usable.
 */
export class HttpSessions {
  readonly #orms: Orm[];
  readonly #releasing = new Set<Promise<void>>();

  constructor(databases: SessionDatabases) {
    this.#orms = ormsOf(databases);
  }

  /** Runs `next` (the rest of the framework's chain) in a new unit of work bound to `res`. */
  run(res: ServerResponse, log: SessionLogger, where: () => string, next: (error?: Error) => void): void {
    runInUnitOfWork(this.#orms, (unit) => {
      if (unit.joins) {
        this.#endBeforeResponding(unit, res, log, where);
        unit.joinEnclosing().then(() => next(), next);
        return;
      }
      this.#endAfterResponse(unit, res, log, where);
      next();
    });
  }

  /** Resolves once every rollback started at the end of a request has finished (for a clean close). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#releasing]);
  }

  #endAfterResponse(unit: UnitOfWork, res: ServerResponse, log: SessionLogger, where: () => string): void {
    // Nearly every request has ended its response by the time the connection is done with it, and
    // ends with no transaction open: one listener, no promise, and `res` keeps its own shape (a
    // per-request `end` property on every response would make Node's and Fastify's code that
    // handles responses see two shapes of them).
    // `on`, not `once`: a response closes once, and `once` allocates a wrapper per request.
    res.on('close', () => {
      if (res.writableEnded) this.#release(unit, log, where);
      else this.#releaseWhenEnded(unit, res, log, where);
    });
  }

  /** The client left before the handler answered: the handler is still running, wait for its `res.end()`. */
  #releaseWhenEnded(unit: UnitOfWork, res: ServerResponse, log: SessionLogger, where: () => string): void {
    const end = res.end;
    const release = () => this.#release(unit, log, where);
    res.end = function (this: ServerResponse, ...args: Parameters<ServerResponse['end']>) {
      res.end = end;
      const result = end.apply(this, args);
      release();
      return result;
    } as ServerResponse['end'];
  }

  #release(unit: UnitOfWork, log: SessionLogger, where: () => string): void {
    if (unit.settled) return;
    const releasing = unit.end(log, where()).catch((error: Error) => reportEndFailure(log, where(), error));
    this.#releasing.add(releasing);
    releasing.finally(() => this.#releasing.delete(releasing));
  }

  #endBeforeResponding(unit: UnitOfWork, res: ServerResponse, log: SessionLogger, where: () => string): void {
    const end = res.end;
    res.end = function (this: ServerResponse, ...args: Parameters<ServerResponse['end']>) {
      res.end = end;
      const respond = () => end.apply(this, args);
      unit.end(log, where()).then(respond, (error: Error) => {
        reportEndFailure(log, where(), error);
        respond();
      });
      return this;
    } as ServerResponse['end'];
  }
}

function reportEndFailure(log: SessionLogger, where: string, error: Error): void {
  log.warn({ where, error: error.message }, 'Ending the unit of work of a request failed');
}
