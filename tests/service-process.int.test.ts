import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serverConnections } from './helpers/database-container.js';
import { ServiceProcess } from './helpers/service-process.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

describe('the service as a real process', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await testDatabase.create('process');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterEach(async () => {
    proxy.resume();
    await service?.kill();
    service = undefined;
  });

  afterAll(async () => {
    await proxy.close();
    await db.drop();
  });

  const start = async (applicationName: string, env: Record<string, string> = {}) => {
    const url = new URL(proxy.urlFor(db.url));
    url.searchParams.set('application_name', applicationName);
    service = await ServiceProcess.start({ DATABASE_URL: url.href, ...env });
    return service;
  };

  it('on SIGTERM finishes all 100 in-flight requests with 2xx, exits 0 and leaves no connection', async () => {
    const applicationName = uniqueApplicationName('graceful');
    const running = await start(applicationName);
    proxy.stall(); // every request now waits on the database: all 100 are in flight together
    const requests = Array.from({ length: 100 }, (_, i) =>
      fetch(`${running.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: `in flight ${i}` }),
      }).then(async (response) => response.status),
    );
    await expect
      .poll(
        () =>
          running.count((line) => line.msg === 'incoming request' && (line.req as { url?: string })?.url === '/tasks'),
        { timeout: 10_000 },
      )
      .toBe(100);

    running.signal('SIGTERM');
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    proxy.resume();

    const statuses = await Promise.all(requests);
    expect(statuses.filter((status) => status === 201)).toHaveLength(100);
    expect(await running.exited).toBe(0);
    // A backend ends a moment after its client's socket closes.
    await expect.poll(() => serverConnections(db, applicationName), { timeout: 3000 }).toBe(0);
    expect(await db.query("select count(*)::int as n from task where title like 'in flight %'")).toEqual([{ n: 100 }]);
  });

  it('turns readiness to 503 during the drain', async () => {
    const running = await start(uniqueApplicationName('ready-drain'));
    // Once the drain begins new connections are refused, so two keep-alive connections are opened
    // now: one carries the in-flight request, the other the readiness probe during the drain.
    const readiness = async () => {
      const response = await fetch(`${running.url}/health/ready`);
      await response.arrayBuffer(); // read to the end, so the connection goes back to the keep-alive pool
      return response.status;
    };
    expect(await Promise.all([readiness(), readiness()])).toEqual([200, 200]);
    proxy.stall();
    const inFlight = fetch(`${running.url}/tasks/999999`);
    await running.waitFor(
      (line) => line.msg === 'incoming request' && (line.req as { url?: string })?.url === '/tasks/999999',
    );
    running.signal('SIGTERM');
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    expect(await readiness()).toBe(503);
    proxy.resume();
    expect((await inFlight).status).toBe(404);
    expect(await running.exited).toBe(0);
  });

  it('with SHUTDOWN_DELAY_MS, answers readiness 503 from SIGTERM on while still serving requests and new connections, and drains only after the delay', async () => {
    const delayMs = 1500;
    const running = await start(uniqueApplicationName('pre-stop-delay'), { SHUTDOWN_DELAY_MS: String(delayMs) });
    running.signal('SIGTERM');
    const signalledAt = Date.now();
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    // Each fetch here without a keep-alive connection to reuse opens a new one: the listener is still open.
    const fresh = { headers: { connection: 'close' } };
    expect((await fetch(`${running.url}/health/ready`, fresh)).status).toBe(503);
    const created = await fetch(`${running.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ title: 'during the delay' }),
    });
    expect(created.status).toBe(201);
    expect(Date.now() - signalledAt).toBeLessThan(delayMs);

    expect(await running.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(delayMs);
    expect(
      running.count((line) => line.msg === 'Readiness is 503; serving on for SHUTDOWN_DELAY_MS before draining'),
    ).toBe(1);
  });

  it('exits at once on a second signal', async () => {
    const running = await start(uniqueApplicationName('second-signal'));
    proxy.stall();
    const hanging = fetch(`${running.url}/tasks/1`).catch(() => 'cut');
    await running.waitFor((line) => line.msg === 'incoming request');
    running.signal('SIGTERM');
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    running.signal('SIGTERM');
    expect(await running.exited).toBe(1);
    expect(await hanging).toBe('cut');
  });

  it('exits non-zero with a clear message when the configuration is invalid', async () => {
    const failed = ServiceProcess.start({ DATABASE_URL: 'postgresql://u:hunter2@127.0.0.1/db', DB_POOL_MAX: 'lots' });
    await expect(failed).rejects.toThrow(/DB_POOL_MAX must be a whole number >= 1 \(got \\"lots\\"\)/);
    await expect(failed).rejects.not.toThrow(/hunter2/);
    expect((await ServiceProcess.lastFailure()).code).toBe(1);
  });

  it('exits 1 with one clear log line, no stack trace, when LOG_LEVEL is invalid', async () => {
    const failed = ServiceProcess.launch({ DATABASE_URL: 'postgresql://u@127.0.0.1:1/db', LOG_LEVEL: 'verbose' });
    service = failed;
    expect(await failed.exited).toBe(1);
    expect(failed.lines).toEqual([
      expect.objectContaining({
        level: 60,
        msg: 'The service could not start',
        err: expect.objectContaining({
          type: 'InversifyMikroOrmError',
          message: expect.stringContaining(
            'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
          ),
        }),
      }),
    ]);
  });

  it('on SIGTERM while still retrying to connect, exits 0 within a second, logging that it stopped while starting', async () => {
    const launchedAt = Date.now();
    const booting = ServiceProcess.launch({
      DATABASE_URL: 'postgresql://app@127.0.0.1:1/nowhere',
      DB_CONNECT_TIMEOUT_MS: '20000',
    });
    service = booting;
    await booting.waitFor((line) => line.msg === 'Database not reachable yet; retrying');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 - (Date.now() - launchedAt))));

    const signalledAt = Date.now();
    booting.signal('SIGTERM');
    expect(await booting.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(1500);
    expect(booting.count((line) => line.msg === 'The service was stopped while starting; it never became ready')).toBe(
      1,
    );
    expect(booting.count((line) => 'stderr' in line)).toBe(0);
  });
});
