import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminateBackends } from './faults/helpers.js';
import { ServiceProcess } from './helpers/service-process.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

describe('secrets', () => {
  let db: IsolatedDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await testDatabase.create('secrets');
  });

  afterAll(async () => {
    await service?.kill();
    await db.drop();
  });

  it('never print the database password: not in logs (even DB_ECHO and debug), errors, nor health output', async () => {
    const url = new URL(db.url);
    // Trust auth ignores a password it did not ask for; the embedded server uses its real one.
    if (!url.password) url.password = 'Never-Log-Me-4711';
    const password = decodeURIComponent(url.password);
    const applicationName = uniqueApplicationName('secrets');
    url.searchParams.set('application_name', applicationName);
    service = await ServiceProcess.start({ DATABASE_URL: url.href, DB_ECHO: 'true', LOG_LEVEL: 'trace' });

    const bodies: string[] = [];
    const call = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${service?.url}${path}`, init);
      bodies.push(JSON.stringify([...response.headers]), await response.text());
    };
    const post = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await call('/tasks', post('{"title":"secret-free"}'));
    await call('/tasks/1');
    await call('/tasks', post('{"title":'));
    await call('/tasks/999');
    await call('/health/ready');
    await terminateBackends(db, applicationName);
    await call('/tasks', post('{"title":"after the kill"}'));
    await call('/health/ready');
    service.signal('SIGTERM');
    expect(await service.exited).toBe(0);

    const everything = `${service.dump()}\n${bodies.join('\n')}`;
    expect(everything).toMatch(/\[query\] insert into/); // DB_ECHO really logged statements
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(encodeURIComponent(password));
  });
});
