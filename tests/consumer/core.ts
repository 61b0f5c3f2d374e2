/**
 * What an application does with the core entry, written as a consumer writes it: imports by
 * package name only, no decorators (Node strips the types and runs this file as is). The package
 * test copies it into a project outside the repository and runs `node core.ts`; the repository's
 * own tests import its functions (tests/dependency-internals.int.test.ts).
 */
import 'reflect-metadata';
import { defineEntity, p, RequestContext } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import {
  AppLifecycle,
  databaseModule,
  type Environment,
  isInversifyMikroOrmError,
  loadDatabaseConfig,
  nativePool,
  type Orm,
  poolFigures,
  ResilientPostgreSqlConnection,
  Session,
  validateScopes,
} from 'inversify-mikro-orm';

export const ConsumerItem = defineEntity({
  name: 'ConsumerItem',
  properties: { id: p.integer().primary(), name: p.string() },
});

export interface CoreOutcome {
  ormIsSingleton: boolean;
  forked: boolean;
  /** Every container.get(Session) inside one RequestContext (the app's copy) is that context's fork. */
  oneSessionPerRequest: boolean;
  /** Two requests never share one. */
  requestsIsolated: boolean;
  saved: number;
  internals: string[];
}

/** The design.md snippet, then one Session per request through the application's own RequestContext. */
export async function useCore(env: Environment): Promise<CoreOutcome> {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [ConsumerItem] }, env)));
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start();
  const orm = container.get(MikroORM);
  const pool = await nativePool(orm);
  const internals: string[] = [];
  try {
    const request = () =>
      RequestContext.create(orm.em, async () => {
        const session = container.get(Session);
        const again = container.get(Session);
        session.create(ConsumerItem, { name: 'from a request' });
        await again.flush();
        return { same: session === again && session === RequestContext.getEntityManager(), id: session.id };
      });
    const [first, second] = [await request(), await request()];
    internals.push(...(await dependencyInternals(container, orm)));
    return {
      ormIsSingleton: orm === container.get(MikroORM),
      forked: container.get(Session) !== orm.em,
      oneSessionPerRequest: first.same && second.same,
      requestsIsolated: first.id !== second.id,
      saved: await orm.em.fork().count(ConsumerItem),
      internals,
    };
  } finally {
    await lifecycle.stop();
    // After stop() the pool must say it is ending, through the flags src/pool.ts reads.
    const { ending, ended } = pool as unknown as PoolFlags;
    if (ending !== true && ended !== true) internals.push('pg pool.ending/ended not set after close (src/pool.ts)');
  }
}

type PgFlags = { _queryable?: unknown; _ending?: unknown };
type PoolFlags = { ending?: unknown; ended?: unknown };

/**
 * The private fields and internal APIs of our dependencies that the library relies on, checked on
 * live objects: an empty list means every one is still there. Each entry names what broke.
 */
export async function dependencyInternals(container: Container, orm: Orm): Promise<string[]> {
  const problems: string[] = [];
  const pool = await nativePool(orm);
  const client = await pool.connect();
  const flags = client as unknown as PgFlags;
  if (flags._queryable !== true) problems.push('pg client._queryable is not true on a live client (src/pool.ts)');
  if (flags._ending !== false) problems.push('pg client._ending is not false on a live client (src/pool.ts)');
  client.release();
  if (!((pool as unknown as { _expired?: unknown })._expired instanceof WeakSet)) {
    problems.push('pg-pool pool._expired (the clients past their lifetime) is not a WeakSet (src/pool.ts)');
  }
  if (pool.totalCount === 0 || poolFigures(orm).connections.total !== pool.totalCount) {
    problems.push(
      "MikroORM no longer creates the primary's pool through its connection's createKyselyDialect: poolFigures(orm) does not see it (src/resilient-driver.ts)",
    );
  }
  const poolFlags = pool as unknown as PoolFlags;
  if (poolFlags.ending !== false || poolFlags.ended !== false) {
    problems.push('pg pool.ending/ended are not false on a live pool (src/pool.ts)');
  }
  for (const type of ['write', 'read'] as const) {
    if (!(orm.driver.getConnection(type) instanceof ResilientPostgreSqlConnection)) {
      problems.push(`MikroORM's driver no longer takes our ${type} connection (src/resilient-driver.ts)`);
    }
  }
  if (orm.schema.constructor.name !== 'SafeSchemaGenerator') {
    problems.push(
      `MikroORM's driver no longer takes our platform: orm.schema is ${orm.schema.constructor.name} (src/resilient-driver.ts)`,
    );
  }
  const captive = new Container({ parent: container });
  class ReportCache {
    readonly session: Session;
    constructor(session: Session) {
      this.session = session;
    }
  }
  captive
    .bind(ReportCache)
    .toResolvedValue((session: Session) => new ReportCache(session), [Session])
    .inSingletonScope();
  try {
    validateScopes(captive);
    problems.push('validateScopes no longer sees a singleton capturing Session (src/scope-validation.ts)');
  } catch (error) {
    if (!isInversifyMikroOrmError(error, 'scope')) {
      problems.push(
        `validateScopes failed on Inversify internals: ${(error as Error).message} (src/scope-validation.ts)`,
      );
    }
  }
  return problems;
}

if (import.meta.main) console.log(JSON.stringify(await useCore(process.env)));
