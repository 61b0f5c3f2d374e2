import { AsyncLocalStorage } from 'node:async_hooks';

const declaredReads = new AsyncLocalStorage<true>();

/**
 * Declares that the statements `read` sends change nothing, so that one which loses its connection
 * outside a transaction is sent once more on a fresh connection instead of failing. Nothing else
 * is repeated: `select my_function()` may write, and only its author knows. MikroORM's own reads
 * (`find`, `findOne`, `count`, `populate` and what builds on them) are declared already.
 *
 * ```ts
 * const rows = await retryableRead(() => em.execute('select id, title from task where id = ?', [id]));
 * ```
 */
export function retryableRead<T>(read: () => Promise<T>): Promise<T> {
  return declaredReads.run(true, read);
}

/** True while running inside `retryableRead`, through every await of it. */
export function isDeclaredRead(): boolean {
  return declaredReads.getStore() === true;
}
