import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCore } from './consumer/core.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

/**
 * The library relies on private fields of pg and pg-pool and on MikroORM and Inversify internals
 * (each place says so in a comment). This fails, naming the field, as soon as a version bump
 * removes one; tests/package.int.test.ts runs the same checks against the newest versions in range.
 */
describe('the dependency internals the library relies on', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('internals');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('are all still there in the installed pg, pg-pool, MikroORM and Inversify', async () => {
    const outcome = await useCore(db.env({ DB_POOL_MIN: '1' }));
    expect(outcome.internals).toEqual([]);
    expect(outcome).toMatchObject({ ormIsSingleton: true, oneSessionPerRequest: true, requestsIsolated: true });
  });
});
