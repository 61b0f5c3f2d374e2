import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as replicasExample } from '../examples/replicas.js';
import {
  AppLifecycle,
  databaseModule,
  loadDatabaseConfig,
  replicaHealth,
  type Session,
  withSession,
} from '../src/index.js';
import type { Orm } from '../src/orm.js';
import { freePort } from './helpers/ports.js';
import { type ReplicaCluster, startReplicaCluster } from './helpers/replica-cluster.js';
import { startTasksApp, type TasksApp } from './helpers/tasks-app.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

/** Every row read says which server sent it: the primary's port or the replica's. */
const Note = defineEntity({
  name: 'Note',
  properties: {
    id: p.integer().primary(),
    body: p.string(),
    servedBy: p.integer().formula('inet_server_port()').persist(false).nullable(),
  },
});

/** A many-to-many collection is loaded through its pivot table, a read MikroORM sends without naming the Session. */
const Label = defineEntity({
  name: 'Label',
  properties: {
    id: p.integer().primary(),
    name: p.string(),
    servedBy: p.integer().formula('inet_server_port()').persist(false).nullable(),
  },
});
const Post = defineEntity({
  name: 'Post',
  properties: { id: p.integer().primary(), title: p.string(), labels: () => p.manyToMany(Label).owner() },
});

const DATABASE = 'app';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface App {
  container: Container;
  lifecycle: AppLifecycle;
  orm: Orm;
}

async function startApp(env: Record<string, string>): Promise<App> {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note, Label, Post] }, { DB_POOL_MIN: '2', ...env })));
  const lifecycle = container.get(AppLifecycle).useLogger(silent);
  await lifecycle.start();
  return { container, lifecycle, orm: container.get(MikroORM) };
}

/** Which server answered a raw statement. */
async function rawServer(session: Session, connectionType?: 'read' | 'write'): Promise<number> {
  const row = await session.execute<{ port: number }>('select inet_server_port() as port', [], {
    method: 'get',
    connectionType,
  });
  return row.port;
}

describe('read replicas: a real streaming replica of a PostgreSQL 15 started by the test', () => {
  let cluster: ReplicaCluster;
  let app: App;

  beforeAll(async () => {
    cluster = await startReplicaCluster();
    await cluster.createDatabase(DATABASE);
    app = await startApp({
      DATABASE_URL: cluster.primaryUrl(DATABASE),
      DATABASE_REPLICA_URLS: cluster.replicaUrl(DATABASE),
    });
    await withSession(app.container, async (session) => {
      session.create(Note, { body: 'seed' });
      await session.flush();
    });
    await cluster.waitForReplay();
  }, 120_000);

  afterAll(async () => {
    await app?.lifecycle.stop();
    await cluster?.stop();
  });

  it('sends reads outside a transaction to the replica: find, findOne, findAndCount, a query builder, a raw read', async () => {
    await withSession(app.container, async (session) => {
      const [found] = await session.find(Note, {});
      const one = await session.fork().findOne(Note, { body: 'seed' });
      const [counted] = await session.fork().findAndCount(Note, {});
      const built = await session.fork().createQueryBuilder(Note).select('*').getResult();
      expect([found?.servedBy, one?.servedBy, counted[0]?.servedBy, built[0]?.servedBy]).toEqual(
        Array(4).fill(cluster.replicaPort),
      );
      expect(await rawServer(session, 'read')).toBe(cluster.replicaPort);
    });
  });

  it('sends writes, and raw statements that do not ask for a replica, to the primary', async () => {
    await withSession(app.container, async (session) => {
      expect(await rawServer(session)).toBe(cluster.primaryPort);
    });
    await withSession(app.container, async (session) => {
      session.create(Note, { body: 'written' });
      await session.flush();
    });
    expect(await cluster.primaryQuery("select 1 from note where body = 'written'", [], DATABASE)).toHaveLength(1);
  });

  it('sends every statement of a transaction to the primary, reads included', async () => {
    await withSession(app.container, async (session) => {
      await session.transactional(async (em) => {
        const [found] = await em.find(Note, {});
        expect(found?.servedBy).toBe(cluster.primaryPort);
        expect(await rawServer(em, 'read')).toBe(cluster.primaryPort);
      });
    });
  });

  it('keeps a Session that only read on the replica', async () => {
    await withSession(app.container, async (session) => {
      await session.find(Note, {});
      await session.flush(); // nothing changed: not a write
      const [again] = await session.fork().find(Note, {});
      expect(again?.servedBy).toBe(cluster.replicaPort);
    });
  });

  describe('read-your-writes, with the replica not replaying (lag made deterministic)', () => {
    const writes: Array<[string, (session: Session, body: string) => Promise<unknown>]> = [
      [
        'a flush',
        async (session, body) => {
          session.create(Note, { body });
          await session.flush();
        },
      ],
      ['a transaction', (session, body) => session.transactional(async (em) => void em.create(Note, { body }))],
      ['em.insert', (session, body) => session.insert(Note, { body })],
      ['em.nativeUpdate', (session, body) => session.nativeUpdate(Note, { body: `before ${body}` }, { body })],
      [
        'a raw statement (it may write; only its author knows)',
        (session, body) => session.execute('insert into note (body) values (?)', [body]),
      ],
    ];

    it.each(writes)(
      'after %s, the Session reads from the primary and sees its write; a fresh Session still reads the replica',
      async (_label, write) => {
        const body = `ryw ${Math.random()}`;
        await cluster.primaryQuery('insert into note (body) values ($1)', [`before ${body}`], DATABASE);
        await cluster.waitForReplay();
        await cluster.pauseReplay();
        try {
          await withSession(app.container, async (session) => {
            await write(session, body);
            const mine = await session.fork().findOne(Note, { body });
            expect(mine?.servedBy).toBe(cluster.primaryPort);
            expect(await session.count(Note, { body })).toBe(1);
            const built = await session.createQueryBuilder(Note).select('*').where({ body }).getResult();
            expect(built.map((note) => note.servedBy)).toEqual([cluster.primaryPort]);
            expect(await rawServer(session, 'read')).toBe(cluster.primaryPort);
          });
          await withSession(app.container, async (fresh) => {
            // The replica has not replayed the write: stale, as expected (see README, Read replicas).
            expect(await fresh.findOne(Note, { body })).toBeNull();
            const [any] = await fresh.find(Note, {}, { limit: 1 });
            expect(any?.servedBy).toBe(cluster.replicaPort);
          });
        } finally {
          await cluster.resumeReplay();
        }
        await cluster.waitForReplay();
        await withSession(app.container, async (fresh) => {
          const replayed = await fresh.findOne(Note, { body });
          expect(replayed?.servedBy).toBe(cluster.replicaPort);
        });
        await cluster.primaryQuery('delete from note where body in ($1, $2)', [body, `before ${body}`], DATABASE);
      },
    );
    it('after a flush, a many-to-many collection loaded through its pivot table also comes from the primary', async () => {
      await cluster.pauseReplay();
      try {
        await withSession(app.container, async (session) => {
          const post = session.create(Post, { title: 'labelled', labels: [{ name: 'a' }, { name: 'b' }] });
          await session.flush();
          const selectIn = await session.fork().findOneOrFail(Post, post.id, {
            populate: ['labels'],
            strategy: 'select-in',
          });
          expect(selectIn.labels.getItems().map((label) => label.servedBy)).toEqual([
            cluster.primaryPort,
            cluster.primaryPort,
          ]);
          const lazy = await session.fork().findOneOrFail(Post, post.id);
          await lazy.labels.init();
          expect(lazy.labels.getItems().map((label) => label.servedBy)).toEqual([
            cluster.primaryPort,
            cluster.primaryPort,
          ]);
        });
      } finally {
        await cluster.resumeReplay();
      }
    });
  });

  it('runs the README example (examples/replicas.ts) while the replica lags: the deposit reads the primary, the Session that wrote sees it', async () => {
    await cluster.createDatabase('bank');
    await cluster.pauseReplay();
    try {
      const accounts = await replicasExample({
        DATABASE_URL: cluster.primaryUrl('bank'),
        DATABASE_REPLICA_URLS: cluster.replicaUrl('bank'),
      });
      expect(accounts).toEqual([{ id: 1, balance: 5 }]);
    } finally {
      await cluster.resumeReplay();
    }
  });

  it('measures the lag: 0 when the replica has replayed everything, growing while replay is paused and the primary writes', async () => {
    await cluster.waitForReplay();
    const [current] = await replicaHealth(app.orm, { timeoutMs: 1000, laggingAfterSeconds: 0.5 });
    expect(current).toEqual({ name: 'replica-1', status: 'ok', lagSeconds: 0 });
    await cluster.pauseReplay();
    try {
      await withSession(app.container, (session) => session.insert(Note, { body: 'during the pause' }));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const [behind] = await replicaHealth(app.orm, { timeoutMs: 1000, laggingAfterSeconds: 0.5 });
      expect(behind).toMatchObject({ name: 'replica-1', status: 'lagging' });
      expect(behind?.lagSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.waitForReplay();
    const [after] = await replicaHealth(app.orm, { timeoutMs: 1000, laggingAfterSeconds: 0.5 });
    expect(after).toEqual({ name: 'replica-1', status: 'ok', lagSeconds: 0 });
  });

  it('supervises the replica pool like the primary one: an idle connection frozen on the network is retired by its validation, and the read stays on the replica', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: cluster.replicaPort });
    const supervised = await startApp({
      DATABASE_URL: cluster.primaryUrl(DATABASE),
      DATABASE_REPLICA_URLS: proxy.urlFor(cluster.replicaUrl(DATABASE)),
      DB_POOL_VALIDATE_AFTER_IDLE_MS: '0',
      DB_POOL_VALIDATION_TIMEOUT_MS: '200',
      DB_REPLICA_TIMEOUT_MS: '5000',
      DB_SCHEMA_UPDATE: 'off',
    });
    try {
      await withSession(supervised.container, (session) => session.find(Note, {}));
      expect(proxy.freezeAll()).toBeGreaterThan(0);
      // Unsupervised, the read would wait on the frozen connection for DB_REPLICA_TIMEOUT_MS, then go to the primary.
      const [found] = await withSession(supervised.container, (session) => session.find(Note, {}));
      expect(found?.servedBy).toBe(cluster.replicaPort);
    } finally {
      await supervised.lifecycle.stop();
      await proxy.close();
    }
  });

  describe('the Tasks API on the replica, while it lags (replay paused)', () => {
    let tasks: TasksApp;

    beforeAll(async () => {
      tasks = await startTasksApp({
        DATABASE_URL: cluster.primaryUrl(DATABASE),
        DATABASE_REPLICA_URLS: cluster.replicaUrl(DATABASE),
        DB_POOL_MIN: '2',
      });
    });

    afterAll(async () => {
      await tasks?.lifecycle.stop();
    });

    it('changes read what they change from the primary: PATCH and DELETE of a task created a moment ago succeed, while a GET in a new request reads the replica and answers 404', async () => {
      await cluster.waitForReplay();
      await cluster.pauseReplay();
      try {
        const create = async (title: string) =>
          (await tasks.app.inject({ method: 'POST', url: '/tasks', payload: { title } })).json() as { id: number };
        const patched = await create('patch me');
        const deleted = await create('delete me');
        const read = await tasks.app.inject({ method: 'GET', url: `/tasks/${patched.id}` });
        const patch = await tasks.app.inject({ method: 'PATCH', url: `/tasks/${patched.id}`, payload: { done: true } });
        const remove = await tasks.app.inject({ method: 'DELETE', url: `/tasks/${deleted.id}` });
        expect([read.statusCode, patch.statusCode, remove.statusCode]).toEqual([404, 200, 204]);
      } finally {
        await cluster.resumeReplay();
      }
    });
  });

  describe('with a second replica that does not exist (nothing listens on its port)', () => {
    let tasks: TasksApp;
    let deadPort: number;

    beforeAll(async () => {
      deadPort = await freePort();
      tasks = await startTasksApp({
        DATABASE_URL: cluster.primaryUrl(DATABASE),
        DATABASE_REPLICA_URLS: `${cluster.replicaUrl(DATABASE)},postgresql://reader:Replica-Secret-7@127.0.0.1:${deadPort}/${DATABASE}`,
        DB_POOL_MIN: '2',
      });
    });

    afterAll(async () => {
      await tasks?.lifecycle.stop();
    });

    it('serves every read (0 failed): those sent to the missing replica go to the primary; it is logged once, by name and endpoint, never the password', async () => {
      const created = await tasks.app.inject({ method: 'POST', url: '/tasks', payload: { title: 'read me' } });
      const { id } = created.json() as { id: number };
      await cluster.waitForReplay();
      const statuses = [];
      for (let i = 0; i < 40; i++) {
        const [one, page] = await Promise.all([
          tasks.app.inject({ method: 'GET', url: `/tasks/${id}` }),
          tasks.app.inject({ method: 'GET', url: '/tasks?limit=5' }),
        ]);
        statuses.push(one.statusCode, page.statusCode);
      }
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      const warnings = tasks.logs.filter((line) =>
        String(line.msg).startsWith('Read replica replica-2 is unavailable'),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ replica: 'replica-2', endpoint: `127.0.0.1:${deadPort}/${DATABASE}` });
      expect(JSON.stringify(tasks.logs)).not.toContain('Replica-Secret-7');
    });

    it('boots, and /health/ready stays 200, reporting the live replica ok and the missing one down', async () => {
      const response = await tasks.app.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        status: 'ready',
        replicas: [
          { name: 'replica-1', status: 'ok', lagSeconds: 0 },
          { name: 'replica-2', status: 'down', lagSeconds: null, reason: expect.stringContaining('ECONNREFUSED') },
        ],
      });
      expect(response.body).not.toContain('Replica-Secret-7');
    });
  });
});
