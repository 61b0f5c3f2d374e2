import { RequestContext, type Transaction } from '@mikro-orm/core';
import { DEFAULT_DATABASE } from './database-name.js';
import type { Orm } from './orm.js';
import { contextSession, type Session } from './session.js';
import { releaseSession, type SessionLogger } from './session-release.js';
import { asCurrent, outsideTransactions } from './transaction-scope.js';

/**
 * One unit of work (an HTTP request, a `withSession` job): one Session per database, each with
 * its own identity map. When it begins inside another unit of work that holds an open
 * transaction on a database (a test's `withRollback`, a job's `em.transactional()`), its Session
 * for that database joins that transaction, in a savepoint of its own: its writes are visible to
 * the enclosing unit, committed or rolled back with it, and a statement that fails inside it does
 * not abort the enclosing transaction.
 */
export class UnitOfWork {
  /** Only a unit that joins an enclosing transaction has these (allocated then, not per request). */
  #savepoints?: Map<Session, Transaction>;
  #leaveTurns?: Array<() => void>;
  #ending?: Promise<void>;

  constructor(
    readonly sessions: readonly Session[],
    private readonly enclosing: ReadonlyMap<string, Transaction>,
  ) {}

  /** The default database's Session, else the first bound database's. */
  get primary(): Session {
    return this.sessions.find((session) => session.name === DEFAULT_DATABASE) ?? (this.sessions[0] as Session);
  }

  /** Whether any Session joins an enclosing transaction (then `joinEnclosing()` must run first). */
  get joins(): boolean {
    return this.enclosing.size > 0;
  }

  /**
   * Opens this unit's savepoint in each enclosing transaction. Units joining the same transaction
   * take turns: they share its connection, and savepoints of interleaved units would undo each
   * other's work.
   */
  async joinEnclosing(): Promise<void> {
    const savepoints = new Map<Session, Transaction>();
    const leaveTurns: Array<() => void> = [];
    this.#savepoints = savepoints;
    this.#leaveTurns = leaveTurns;
    for (const session of this.sessions) {
      const outer = this.enclosing.get(session.name);
      if (!outer) continue;
      leaveTurns.push(await takeTurn(outer));
      await asCurrent(session, () => session.begin({ ctx: outer }));
      savepoints.set(session, asCurrent(session, () => session.getTransactionContext()) as Transaction);
    }
  }

  /** Opens a transaction on every Session not already working in a savepoint of an enclosing one. */
  async begin(): Promise<void> {
    for (const session of this.sessions) {
      if (!this.#savepoints?.has(session)) await asCurrent(session, () => session.begin());
    }
  }

  /** Nothing to end: no savepoint, no transaction left open (nearly every request). */
  get settled(): boolean {
    if (this.#savepoints && this.#savepoints.size > 0) return false;
    for (const session of this.sessions) if (holdsTransaction(session)) return false;
    return true;
  }

  /**
   * Ends the unit: a transaction the code left open is rolled back (and logged); a savepoint in
   * an enclosing transaction is released, or rolled back to when a statement failed inside it.
   * Idempotent: a second call (two response hooks) waits for the first.
   */
  end(log: SessionLogger, where: string): Promise<void> {
    this.#ending ??= this.#end(log, where);
    return this.#ending;
  }

  async #end(log: SessionLogger, where: string): Promise<void> {
    try {
      for (const session of this.sessions) {
        await asCurrent(session, async () => {
          const savepoint = this.#savepoints?.get(session);
          if (session.getTransactionContext() !== savepoint) await releaseSession(session, log, where);
          if (savepoint) await keep(session, savepoint);
        });
      }
    } finally {
      this.#leave();
    }
  }

  /** Rolls back every Session's transaction (or savepoint): `withRollback`. */
  async rollback(): Promise<void> {
    try {
      for (const session of [...this.sessions].reverse()) {
        await asCurrent(session, async () => {
          if (session.isInTransaction()) await session.rollback();
        });
      }
    } finally {
      this.#leave();
    }
  }

  #leave(): void {
    this.#savepoints?.clear();
    for (const leave of this.#leaveTurns?.splice(0) ?? []) leave();
  }
}

/**
 * Whether the Session itself has a transaction open. Where it already is the current
 * EntityManager of its database (in the unit's own async context, where the end-of-request hooks
 * nearly always run) it is asked directly; elsewhere it is made the current one first, which
 * costs an AsyncLocalStorage frame.
 */
function holdsTransaction(session: Session): boolean {
  if (session.getContext(false) === session) return session.isInTransaction();
  return asCurrent(session, () => session.isInTransaction());
}

/** The last unit to have asked for a turn in each enclosing transaction, settled when it leaves. */
const turns = new WeakMap<Transaction, Promise<void>>();

async function takeTurn(transaction: Transaction): Promise<() => void> {
  const previous = turns.get(transaction) ?? Promise.resolve();
  let leave: () => void = () => undefined;
  const mine = new Promise<void>((resolve) => {
    leave = resolve;
  });
  turns.set(
    transaction,
    previous.then(() => mine),
  );
  await previous;
  return leave;
}

async function keep(session: Session, savepoint: Transaction): Promise<void> {
  const connection = session.getConnection('write');
  try {
    await connection.commit(savepoint);
  } catch {
    // The transaction is aborted by a failed statement: undo this unit's part, keep the rest.
    await connection.rollback(savepoint);
  }
  session.resetTransactionContext();
}

const NO_TRANSACTIONS: ReadonlyMap<string, Transaction> = new Map();

/** Per database, the transaction the caller's unit of work holds open, if any (nearly always none). */
function enclosingTransactions(orms: readonly Orm[]): ReadonlyMap<string, Transaction> {
  let open: Map<string, Transaction> | undefined;
  for (const orm of orms) {
    const current = orm.em.getContext(false);
    const transaction = current.global ? undefined : current.getTransactionContext();
    if (!transaction) continue;
    open ??= new Map();
    open.set(current.name, transaction);
  }
  return open ?? NO_TRANSACTIONS;
}

/**
 * Runs `fn` inside MikroORM's `RequestContext` with a fresh fork per database: every
 * `container.get(Session)` inside returns that database's fork. Call `joinEnclosing()` before
 * using the Sessions when `joins` is true.
 */
export function runInUnitOfWork<T>(orms: readonly Orm[], fn: (unit: UnitOfWork) => T): T {
  const enclosing = enclosingTransactions(orms);
  return RequestContext.create(
    orms.map((orm) => orm.em),
    () => {
      const sessions = orms.map((orm) => contextSession(orm) as Session);
      return outsideTransactions(sessions, () => fn(new UnitOfWork(sessions, enclosing)));
    },
  );
}
