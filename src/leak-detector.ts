import type { EventSubscriber, Transaction, TransactionEventArgs } from '@mikro-orm/core';
import type { Logger } from './logger.js';

/**
 * HikariCP's leakDetectionThreshold for MikroORM: a transaction (and so a pooled connection) held
 * longer than `thresholdMs` is logged once, with the stack where it began. The request or job
 * that owns it rolls it back when it ends (see `releaseSession`).
 */
export class LeakDetector implements EventSubscriber {
  readonly #open = new Map<Transaction, NodeJS.Timeout>();

  constructor(
    private readonly thresholdMs: number,
    private readonly log: () => Logger,
  ) {}

  afterTransactionStart({ transaction }: TransactionEventArgs): void {
    if (!transaction) return;
    // Created now, formatted only if printed: V8 captures the frames cheaply and renders them lazily.
    const begunAt = new Error('transaction begun here');
    const timer = setTimeout(() => {
      this.#open.delete(transaction);
      this.log().warn(
        { heldForMs: this.thresholdMs, stack: begunAt.stack },
        `A transaction has held its database connection for more than ${this.thresholdMs} ms (DB_LEAK_WARN_MS); it was begun at the stack below. Commit or roll back promptly, or use em.transactional().`,
      );
    }, this.thresholdMs);
    timer.unref();
    this.#open.set(transaction, timer);
  }

  afterTransactionCommit(args: TransactionEventArgs): void {
    this.#settle(args.transaction);
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    this.#settle(args.transaction);
  }

  #settle(transaction: Transaction | undefined): void {
    if (!transaction) return;
    clearTimeout(this.#open.get(transaction));
    this.#open.delete(transaction);
  }
}
