import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type EntityManager as AnyEntityManager,
  RequestContext,
  TransactionContext,
  TransactionPropagation,
} from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { beginTransactionHere } from './transaction-origin.js';

/**
 * Per database, the EntityManager of the innermost `transactional()` callback running in this
 * async context. MikroORM's own `TransactionContext` holds one EntityManager for all databases,
 * so a transaction on one database would hide the open transaction of another.
 */
const innermost = new AsyncLocalStorage<ReadonlyMap<string, AnyEntityManager>>();

type ContextResolver = (name: string) => AnyEntityManager | undefined;

/**
 * MikroORM's `context` option: where an EntityManager that is not inside its own database's
 * `TransactionContext` finds the current one. The innermost transaction of that database first,
 * then the request's (or job's) fork.
 */
export function transactionAwareContext(fallback: ContextResolver = (name) => RequestContext.getEntityManager(name)) {
  return (name: string): AnyEntityManager | undefined => innermost.getStore()?.get(name) ?? fallback(name);
}

function runAsCurrent<T>(em: AnyEntityManager, fn: () => T): T {
  const scopes = new Map(innermost.getStore());
  scopes.set(em.name, em);
  return innermost.run(scopes, () => TransactionContext.create(em, fn));
}

/**
 * Runs `fn` with no transaction of an enclosing unit of work as the current one, so the
 * Sessions of a new unit of work resolve to themselves (MikroORM consults its
 * `TransactionContext` before the request's fork).
 */
export function outsideTransactions<T>(sessions: readonly AnyEntityManager[], fn: () => T): T {
  const enclosing = TransactionContext.currentTransactionContext()?.em.name;
  const own = enclosing === undefined ? undefined : sessions.find((session) => session.name === enclosing);
  const run = innermost.getStore() ? () => innermost.run(new Map(), fn) : fn;
  return own ? TransactionContext.create(own, run) : run();
}

/** Runs `fn` with `session` as the current EntityManager of its database, to inspect the fork itself. */
export function asCurrent<T>(session: AnyEntityManager, fn: () => T): T {
  return TransactionContext.create(session, fn);
}

// biome-ignore lint/suspicious/noExplicitAny: the one constructor signature TypeScript accepts for a mixin's base
export type EntityManagerClass = new (...args: any[]) => EntityManager;

/** Modes that run the callback in another transaction, or none, while the caller's stays open. */
const LEAVING = new Set<`${TransactionPropagation}`>([
  TransactionPropagation.NESTED,
  TransactionPropagation.REQUIRES_NEW,
  TransactionPropagation.NOT_SUPPORTED,
]);

/**
 * An EntityManager that fixes two things MikroORM's `transactional()` (and so `@Transactional()`)
 * gets wrong through a long-lived Session:
 * - it makes the EntityManager handed to the callback the current one for the callback's whole
 *   duration, whatever the propagation. MikroORM does so only for the modes that open a
 *   transaction: under NOT_SUPPORTED, SUPPORTS and NEVER a method (which never sees the callback's
 *   argument) would write through the suspended outer transaction instead of outside it;
 * - before leaving an open transaction (NESTED, REQUIRES_NEW, NOT_SUPPORTED) it flushes what the
 *   caller staged, inside the caller's transaction. MikroORM copies the caller's pending changes
 *   into the inner fork, so they would be committed with REQUIRES_NEW or NOT_SUPPORTED even when
 *   the caller rolls back, and lost for good when a NESTED savepoint rolls back.
 *
 * It also records where the application begins a transaction, for the leak warning (see
 * transaction-origin.ts); the short transactions MikroORM opens itself, for a flush, record nothing.
 */
export function withTransactionScopes(Base: EntityManagerClass = EntityManager): EntityManagerClass {
  return class TransactionScopedEntityManager extends Base {
    override async transactional<T>(
      cb: (em: this) => T | Promise<T>,
      options: Parameters<EntityManager['transactional']>[1] = {},
    ): Promise<T> {
      const current = this.getContext(false);
      const inTransaction = current.isInTransaction();
      if (LEAVING.has(options.propagation ?? TransactionPropagation.NESTED) && inTransaction) {
        await current.flush();
      }
      const transactional = () => super.transactional((em: this) => runAsCurrent(em, () => cb(em)), options);
      const takesConnection = !inTransaction || options.propagation === TransactionPropagation.REQUIRES_NEW;
      return takesConnection ? beginTransactionHere(transactional) : transactional();
    }

    override async begin(options: Parameters<EntityManager['begin']>[0] = {}): Promise<void> {
      if (options.ctx || this.getContext(false).isInTransaction()) return super.begin(options);
      return beginTransactionHere(() => super.begin(options));
    }
  };
}
