import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativePool, outstandingCheckouts } from '../src/pool.js';
import { startTasksApp, type TasksApp } from './helpers/tasks-app.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

describe('health endpoints', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy;
  let tasks: TasksApp;

  beforeAll(async () => {
    db = await testDatabase.create('health');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    tasks = await startTasksApp({ DATABASE_URL: proxy.urlFor(db.url) });
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await proxy.close();
    await db.drop();
  });

  it('GET /health/live answers 200', async () => {
    const response = await tasks.app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 with the pool figures', async () => {
    const response = await tasks.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', pool: { total: 5, idle: 5, waiting: 0 } });
  });

  it('GET /health/ready answers 503 when the database does not answer within 1 s', async () => {
    proxy.stall();
    try {
      const started = Date.now();
      const response = await tasks.app.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      // The pool figures are there; total may be one short: the abandoned check's connection is destroyed.
      expect(response.json()).toMatchObject({
        status: 'database_unavailable',
        pool: { total: expect.any(Number), idle: expect.any(Number), waiting: 0 },
      });
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      proxy.resume();
    }
  });

  it('GET /health/ready answers 200 when the backend its select 1 went to was killed (the read is sent again)', async () => {
    const warm = await tasks.app.inject({ method: 'GET', url: '/health/ready' });
    expect(warm.statusCode).toBe(200);
    // The connection just used is the one handed out next, recently used so not re-validated. Its
    // backend's goodbye (57P01) is held in the proxy until the select 1 has been sent on it.
    proxy.stall();
    try {
      await db.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      await expect
        .poll(
          async () => {
            const [row] = await db.query<{ n: number }>(
              'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
            );
            return row?.n;
          },
          { timeout: 5000 },
        )
        .toBe(0);
      const ready = tasks.app.inject({ method: 'GET', url: '/health/ready' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      proxy.resume();
      const response = await ready;
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ status: 'ready' });
    } finally {
      proxy.resume();
    }
  });

  it('GET /health/ready answers 503 as soon as shutdown begins', async () => {
    let release: () => void = () => undefined;
    tasks.lifecycle.onStop('hold', () => new Promise<void>((resolve) => (release = resolve)));
    const stopping = tasks.lifecycle.stop();
    await expect.poll(() => tasks.lifecycle.state).toBe('stopping');
    const response = await tasks.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: 'stopping' });
    release();
    await stopping;
  });
});

describe('readiness when a query stalls', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy;
  let tasks: TasksApp;

  beforeAll(async () => {
    db = await testDatabase.create('health_stall');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    // Checkouts skip validation here, so the stall hits the readiness query itself, not the pool's ping.
    tasks = await startTasksApp({ DATABASE_URL: proxy.urlFor(db.url), DB_POOL_VALIDATE_AFTER_IDLE_MS: '600000' });
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await proxy.close();
    await db.drop();
  });

  it('gives back the connection of an abandoned select 1 instead of leaving it to the stalled query', async () => {
    const pool = await nativePool(tasks.container.get(MikroORM));
    proxy.stall();
    try {
      const response = await tasks.app.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect([...outstandingCheckouts(pool)]).toHaveLength(0);
    } finally {
      proxy.resume();
    }
    await expect
      .poll(async () => (await tasks.app.inject({ method: 'GET', url: '/health/ready' })).statusCode)
      .toBe(200);
  });
});
