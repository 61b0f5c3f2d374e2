import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionType, EventSubscriber, ForkOptions } from '@mikro-orm/core';
import { type EmExecuteOptions, EntityManager } from '@mikro-orm/postgresql';

/** Whether a Session wrote: one record shared by the Session and every fork made from it. */
interface Writes {
  happened: boolean;
}

const writesOf = new WeakMap<object, Writes>();

function writesFor(em: EntityManager): Writes {
  let writes = writesOf.get(em);
  if (!writes) {
    writes = { happened: false };
    writesOf.set(em, writes);
  }
  return writes;
}

/**
 * From now on, this Session's reads go to the primary. The global EntityManager is no Session
 * (each request forks its own), so nothing is recorded for it.
 */
function markWritten(em: EntityManager): void {
  const session = em.getContext(false);
  if (!session.global) writesFor(session).happened = true;
}

/**
 * The Session whose read (`find`, `populate`, ...) is running. MikroORM hands the Session to the
 * driver with most reads, but not with all of them (a many-to-many collection loaded through its
 * pivot table), so the reading methods are run inside this.
 */
const readingSession = new AsyncLocalStorage<EntityManager>();

/**
 * True when the Session (or the one of the current request, for the global EntityManager) has
 * written; without one, the Session whose read is running.
 */
export function hasWritten(em: EntityManager | undefined): boolean {
  const session = em ?? readingSession.getStore();
  return session !== undefined && writesOf.get(session.getContext(false))?.happened === true;
}

/**
 * A flush that changed something, or any committed transaction (`em.transactional`,
 * `@Transactional`, `begin`/`commit`, the implicit one of a flush), makes its Session read from
 * the primary. The `em` of a transaction's event is the transaction's fork, which shares the record
 * of the Session it was forked from.
 */
const writeWatcher: EventSubscriber = {
  afterFlush: ({ em, uow }) => {
    if (uow.getChangeSets().length > 0) markWritten(em as EntityManager);
  },
  afterTransactionCommit: ({ em }) => markWritten(em as EntityManager),
};

/**
 * The EntityManager behind every Session when read replicas are configured: it remembers that its
 * Session wrote, so that the driver sends the Session's later reads to the primary (read your own
 * writes) instead of a replica that may not have replayed them yet.
 */
export class ReadYourWritesEntityManager extends EntityManager {
  constructor(...args: ConstructorParameters<typeof EntityManager>) {
    super(...args);
    // Registering the same subscriber again is a no-op, so forks sharing an event manager cost nothing.
    this.getEventManager().registerSubscriber(writeWatcher);
  }

  /** A fork of a Session (a transaction's, or one the application makes) shares its record: the Session is one unit of work. */
  override fork(options: ForkOptions = {}): this {
    const parent = options.disableContextResolution ? this : this.getContext(false);
    const fork = super.fork(options);
    if (!parent.global) writesOf.set(fork, writesFor(parent));
    return fork;
  }

  /** `em.execute(sql, params, { connectionType: 'read' })` and `em.getKysely({ type: 'read' })` too. */
  override getConnection(type?: ConnectionType): ReturnType<EntityManager['getConnection']> {
    return super.getConnection(type === 'read' && hasWritten(this) ? 'write' : type);
  }
}

/** The EntityManager methods that read, and everything they load on the way (populate, collections). */
const READ_METHODS = [
  'find',
  'findAll',
  'findOne',
  'findOneOrFail',
  'findAndCount',
  'findByCursor',
  'count',
  'populate',
  'refresh',
  'refreshOrFail',
];

/**
 * The EntityManager methods that write without a flush, and how to tell from their arguments.
 * A raw `execute` may write (only its author knows) unless it asked for a replica.
 */
const WRITE_METHODS: Record<string, (args: unknown[]) => boolean> = {
  insert: () => true,
  insertMany: () => true,
  upsert: () => true,
  upsertMany: () => true,
  nativeUpdate: () => true,
  nativeDelete: () => true,
  clone: () => true,
  callRoutine: () => true,
  execute: (args) => (args[2] as EmExecuteOptions | undefined)?.connectionType !== 'read',
};

// Wrapped on the prototype rather than overridden one by one: these methods are overloaded and
// generic, and every overload simply forwards here.
function wrap(method: string, around: (em: EntityManager, args: unknown[], call: () => unknown) => unknown): void {
  const original = (EntityManager.prototype as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
  if (typeof original !== 'function') throw new Error(`EntityManager.${method} is missing: MikroORM changed its API`);
  Object.defineProperty(ReadYourWritesEntityManager.prototype, method, {
    configurable: true,
    writable: true,
    value(this: EntityManager, ...args: unknown[]) {
      return around(this, args, () => original.apply(this, args));
    },
  });
}

for (const method of READ_METHODS) {
  wrap(method, (em, _args, call) => readingSession.run(em.getContext(false), call));
}
for (const [method, writes] of Object.entries(WRITE_METHODS)) {
  wrap(method, (em, args, call) => {
    if (writes(args)) markWritten(em);
    return call();
  });
}
