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
 * HTTP request shares one unit of work), otherwise a fresh fork.
 */
export function resolveSession(orm: Orm): Session {
  return (RequestContext.getEntityManager(orm.config.get('contextName')) as Session | undefined) ?? orm.em.fork();
}
