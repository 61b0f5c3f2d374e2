import { RequestContext } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AbstractNewable } from 'inversify';
import type { Orm } from './orm.js';

/** A unit of work: a forked PostgreSQL `EntityManager` with its own identity map. */
export type Session = EntityManager;

/**
 * The service identifier of `Session`, typed so `container.get(Session)` returns an `EntityManager`
 * and `@inject(Session)` reads naturally. A dedicated class, so it never collides with a binding
 * of MikroORM's own `EntityManager`.
 */
export const Session = class Session {} as unknown as AbstractNewable<Session>;

/**
 * The Session of the active request or job when there is one (so every injection point of one
 * HTTP request shares one unit of work), otherwise a fresh fork. The fork resolves MikroORM's
 * context like the request's does: inside a transaction (`em.transactional()`, `@Transactional()`)
 * it works in that transaction. A plain `em.fork()` would not, and would write beside it.
 */
export function resolveSession(orm: Orm): Session {
  return contextSession(orm) ?? orm.em.fork({ useContext: true });
}

/** The fork MikroORM's `RequestContext` holds for the current async context, if any. */
export function contextSession(orm: Orm): Session | undefined {
  return RequestContext.getEntityManager(orm.config.get('contextName')) as Session | undefined;
}
