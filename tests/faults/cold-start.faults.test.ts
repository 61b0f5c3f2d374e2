import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../helpers/service-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';

const PASSWORD = 'Cold-Start-Secret-77';

describe('a database that is down at boot', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await testDatabase.create('cold_start');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterEach(async () => {
    proxy.refuse(false);
    await service?.kill();
    service = undefined;
  });

  afterAll(async () => {
    await proxy.close();
    await db.drop();
  });

  /** The proxy's URL with a password added: trust auth ignores it, so only a leak could reveal it. */
  const urlWithPassword = () => {
    const url = new URL(proxy.urlFor(db.url));
    url.password = url.password || PASSWORD;
    return url.href;
  };

  it('keeps retrying with backoff and becomes ready once the database appears', async () => {
    proxy.refuse(true);
    const appearsAfterMs = 2500;
    const started = Date.now();
    setTimeout(() => proxy.refuse(false), appearsAfterMs);
    service = await ServiceProcess.start({ DATABASE_URL: urlWithPassword(), DB_CONNECT_TIMEOUT_MS: '15000' });
    const readyAfterMs = Date.now() - started;
    const retries = service.count((line) => line.msg === 'Database not reachable yet; retrying');
    recordFigure({
      fault: 'database down for 2.5 s at boot',
      promise: 'start() retries with backoff and jitter until DB_CONNECT_TIMEOUT_MS',
      test: 'tests/faults/cold-start.faults.test.ts',
      recoveryMs: readyAfterMs - appearsAfterMs,
      detail: `ready ${readyAfterMs} ms after launch, ${retries} retries logged`,
    });
    expect(retries).toBeGreaterThan(1);
    expect(readyAfterMs).toBeGreaterThanOrEqual(appearsAfterMs);
    expect(readyAfterMs).toBeLessThan(appearsAfterMs + 4000);
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
    expect(service.dump()).not.toContain(PASSWORD);
  });

  it('gives up at DB_CONNECT_TIMEOUT_MS, names host:port and the cause (never the password), exits non-zero', async () => {
    proxy.refuse(true);
    const started = Date.now();
    await expect(
      ServiceProcess.start({ DATABASE_URL: urlWithPassword(), DB_CONNECT_TIMEOUT_MS: '1500' }),
    ).rejects.toThrow(/service exited early/);
    const elapsed = Date.now() - started;
    const failure = await ServiceProcess.lastFailure();
    recordFigure({
      fault: 'database never appears at boot',
      promise: 'start() fails after DB_CONNECT_TIMEOUT_MS naming host:port and the cause; exit code non-zero',
      test: 'tests/faults/cold-start.faults.test.ts',
      detail: `exited with code ${failure.code} after ${elapsed} ms (timeout 1500 ms)`,
    });
    expect(failure.code).toBe(1);
    expect(failure.output).toContain(
      `Could not connect to PostgreSQL at 127.0.0.1:${proxy.port}/${db.name} within 1500 ms`,
    );
    expect(failure.output).toMatch(/last error: .*(Connection terminated|ECONNRESET|closed)/i);
    expect(failure.output).not.toContain(PASSWORD);
  });
});
