import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppLifecycle,
  databaseModule,
  isInversifyMikroOrmError,
  loadDatabaseConfig,
  repositoryOf,
  Session,
  withSession,
} from '../src/index.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

/** Stands in for a secret store: the URL only exists once the promise resolves. */
function secretStore(url: string): () => Promise<{ url: string }> {
  return () => new Promise((resolve) => setTimeout(() => resolve({ url }), 10));
}

describe('databaseModule(async () => config)', () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await testDatabase.create('async_config');
  });

  afterAll(async () => {
    await db.drop();
  });

  it('loads with container.loadAsync and then works like the synchronous form', async () => {
    const secrets = secretStore(db.url);
    const container = new Container();
    await container.loadAsync(
      databaseModule(async () => loadDatabaseConfig({ entities: [Note] }, { DATABASE_URL: (await secrets()).url })),
    );
    const lifecycle = container.get(AppLifecycle);
    await lifecycle.start({ container });
    try {
      const id = await withSession(container, async (session) => {
        const note = session.create(Note, { body: 'from a secret' });
        await session.flush();
        return note.id;
      });
      expect((await container.get(repositoryOf(Note)).findOneOrFail(id)).body).toBe('from a secret');
    } finally {
      await lifecycle.stop();
    }
  });

  it('binds a named database the same way', async () => {
    const container = new Container();
    await container.loadAsync(
      databaseModule(async () => loadDatabaseConfig({ entities: [Note] }, { DATABASE_URL: db.url }), {
        name: 'reports',
      }),
    );
    expect(container.get(MikroORM, { name: 'reports' }).config.get('contextName')).toBe('reports');
    expect(container.isBound(MikroORM)).toBe(false);
  });

  it('turns a rejected factory into a config error with the cause, and binds nothing', async () => {
    const cause = new Error('secret store unreachable');
    const container = new Container();
    const failure = await container.loadAsync(databaseModule(() => Promise.reject(cause), { name: 'reports' })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isInversifyMikroOrmError(failure, 'config')).toBe(true);
    expect((failure as Error).cause).toBe(cause);
    expect((failure as Error).message).toContain('configuration factory of database "reports" failed');
    expect((failure as Error).message).toContain('secret store unreachable');
    for (const id of [MikroORM, Session, AppLifecycle, repositoryOf(Note, 'reports')]) {
      expect(container.isBound(id, { name: 'reports' })).toBe(false);
      expect(container.isBound(id)).toBe(false);
    }
  });

  it('also catches a factory that throws before returning a promise', async () => {
    const container = new Container();
    const load = container.loadAsync(
      databaseModule(() => {
        throw new Error('no credentials');
      }),
    );
    await expect(load).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('no credentials') });
    expect(container.isBound(MikroORM)).toBe(false);
  });
});
