import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../helpers/service-process.js';
import { type IsolatedDatabase, testDatabase } from '../helpers/test-database.js';
import { recordFigure } from './figures.js';
import { PgBouncer } from './pgbouncer.js';

describe('concurrent boots', () => {
  let db: IsolatedDatabase;
  let bouncer: PgBouncer;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await testDatabase.create('concurrent_boots');
    bouncer = await PgBouncer.start(db.url);
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.kill()));
    await bouncer.stop();
    await db.drop();
  });

  it('4 processes started at once on an empty database, through PgBouncer in transaction mode: schema created once, all ready', async () => {
    const url = bouncer.urlFor(db.url);
    const started = Date.now();
    services.push(...(await Promise.all(Array.from({ length: 4 }, () => ServiceProcess.start({ DATABASE_URL: url })))));
    const bootMs = Date.now() - started;

    const outcomes = services.map(
      (service) => service.lines.find((line) => String(line.msg).startsWith('Schema '))?.outcome,
    );
    const errors = services.flatMap((service) => service.lines.filter((line) => Number(line.level) >= 50));
    const ready = await Promise.all(
      services.map(async (service) => (await fetch(`${service.url}/health/ready`)).status),
    );
    recordFigure({
      fault: '4 processes boot at once on an empty database, through PgBouncer (transaction mode)',
      promise: 'the schema is created once (advisory transaction lock); all 4 become ready; 0 errors',
      test: 'tests/faults/concurrent-boots.faults.test.ts',
      failed: errors.length,
      detail: `schema outcomes: ${outcomes.join(', ')}; all ready in ${bootMs} ms`,
    });

    expect(outcomes.filter((outcome) => outcome === 'updated')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'already-updated' || outcome === 'unchanged')).toHaveLength(3);
    expect(errors).toEqual([]);
    expect(ready).toEqual([200, 200, 200, 200]);
    const created = await fetch(`${services[3]?.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":"through pgbouncer"}',
    });
    expect(created.status).toBe(201);
    expect(await db.query('select title from task')).toEqual([{ title: 'through pgbouncer' }]);
  });

  it('4 processes in DB_SCHEMA_UPDATE=migrate started at once on an empty database, through PgBouncer: each migration applied once, all ready', async () => {
    const empty = await testDatabase.create('concurrent_migrations');
    const booted: ServiceProcess[] = [];
    try {
      const env = { DATABASE_URL: bouncer.urlFor(empty.url), DB_SCHEMA_UPDATE: 'migrate' };
      const started = Date.now();
      booted.push(...(await Promise.all(Array.from({ length: 4 }, () => ServiceProcess.start(env)))));
      const bootMs = Date.now() - started;

      const outcomes = booted.map(
        (service) =>
          service.lines.find((line) => line.msg === 'Schema updated' || line.msg === 'Schema unchanged')?.outcome,
      );
      const errors = booted.flatMap((service) => service.lines.filter((line) => Number(line.level) >= 50));
      const ready = await Promise.all(
        booted.map(async (service) => (await fetch(`${service.url}/health/ready`)).status),
      );
      const applied = await empty.query<{ name: string; times: string }>(
        'select name, count(*) as times from mikro_orm_migrations group by name order by name',
      );
      recordFigure({
        fault: '4 processes in migrate mode boot at once on an empty database, through PgBouncer (transaction mode)',
        promise: 'each migration is applied once (advisory transaction lock); all 4 become ready; 0 errors',
        test: 'tests/faults/concurrent-boots.faults.test.ts',
        failed: errors.length,
        detail: `schema outcomes: ${outcomes.join(', ')}; migrations applied: ${applied.map((row) => `${row.name} x${row.times}`).join(', ')}; all ready in ${bootMs} ms`,
      });

      expect(outcomes.filter((outcome) => outcome === 'updated')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'unchanged')).toHaveLength(3);
      expect(applied.length).toBeGreaterThan(0);
      expect(applied.every((row) => row.times === '1')).toBe(true);
      expect(errors).toEqual([]);
      expect(ready).toEqual([200, 200, 200, 200]);
      const created = await fetch(`${booted[2]?.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"title":"migrated through pgbouncer"}',
      });
      expect(created.status).toBe(201);
    } finally {
      await Promise.all(booted.map((service) => service.kill()));
      await empty.drop();
    }
  });
});
