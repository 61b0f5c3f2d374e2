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
  return contextSession(orm) ?? orm.em.fork();
}

/** The fork MikroORM's `RequestContext` holds for the current async context, if any. */
export function contextSession(orm: Orm): Session | undefined {
  return RequestContext.getEntityManager(orm.config.get('contextName')) as Session | undefined;
}

/**
 * Runs `fn` inside a new `RequestContext`. MikroORM forks the given manager for the context, so
 * the fork handed to `fn` is the one every `container.get(Session)` inside will return.
 */
export function runInNewSession<T>(orm: Orm, fn: (session: Session) => T): T {
  return RequestContext.create(orm.em, () => fn(contextSession(orm) as Session));
}
