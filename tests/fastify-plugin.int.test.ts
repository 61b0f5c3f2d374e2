import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import Fastify from 'fastify';
import { Container } from 'inversify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSessionPerRequest } from '../src/fastify/index.js';
import { AppLifecycle, databaseModule, loadDatabaseConfig, type Orm, Session } from '../src/index.js';
import { Note } from './helpers/entities.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

describe('registerSessionPerRequest, as a Fastify plugin', () => {
  it('refuses to register on a Fastify other than 5', async () => {
    const app = Fastify();
    Object.defineProperty(app, 'version', { get: () => '4.28.1' });
    await expect(app.register(registerSessionPerRequest, { orm: {} as Orm })).rejects.toMatchObject({
      code: 'FST_ERR_PLUGIN_VERSION_MISMATCH',
    });
  });

  describe('on close', () => {
    let db: IsolatedDatabase;
    let proxy: TcpProxy;
    let lifecycle: AppLifecycle;
    let container: Container;

    beforeAll(async () => {
      db = await testDatabase.create('fastify_plugin');
      const target = new URL(db.url);
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      container = new Container();
      const env = { DATABASE_URL: proxy.urlFor(db.url), DB_POOL_MIN: '1' };
      container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, env)));
      lifecycle = container.get(AppLifecycle);
      await lifecycle.start();
    });

    afterAll(async () => {
      proxy.delay(0);
      await lifecycle.stop();
      await proxy.close();
      await db.drop();
    });

    it('waits for the rollback of a transaction a request left open before it resolves', async () => {
      const logs: string[] = [];
      const app = Fastify({ loggerInstance: pino({ level: 'warn' }, { write: (line: string) => logs.push(line) }) });
      await app.register(registerSessionPerRequest, { orm: container.get(MikroORM) });
      let leaked: Session | undefined;
      app.get('/leak', async () => {
        leaked = container.get(Session);
        await leaked.begin();
        await leaked.execute('select 1');
        return { open: leaked.isInTransaction() };
      });
      // Every round trip to the database now takes 300 ms, the end-of-request ROLLBACK included.
      proxy.delay(150);
      expect((await app.inject('/leak')).json()).toEqual({ open: true });
      await expect.poll(() => logs.some((line) => line.includes('transaction was still open'))).toBe(true);
      await app.close();
      expect(leaked?.isInTransaction()).toBe(false);
    }, 20_000);
  });
});
