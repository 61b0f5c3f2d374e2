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
    expect(await serverConnections(db, applicationName)).toBe(0);
    expect(await db.query("select count(*)::int as n from task where title like 'in flight %'")).toEqual([{ n: 100 }]);
  });

  it('turns readiness to 503 during the drain', async () => {
    const running = await start(uniqueApplicationName('ready-drain'));
    const keepAlive = await fetch(`${running.url}/health/ready`);
    expect(keepAlive.status).toBe(200);
    proxy.stall();
    const inFlight = fetch(`${running.url}/tasks/999999`);
    await running.waitFor(
      (line) => line.msg === 'incoming request' && (line.req as { url?: string })?.url === '/tasks/999999',
    );
    running.signal('SIGTERM');
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    const during = await fetch(`${running.url}/health/ready`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(during);
    proxy.resume();
    expect((await inFlight).status).toBe(404);
    expect(await running.exited).toBe(0);
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
  });
});
