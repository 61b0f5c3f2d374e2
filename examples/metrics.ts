import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig } from 'inversify-mikro-orm';
import { registerPoolMetrics } from 'inversify-mikro-orm/metrics';
import { Registry } from 'prom-client';

export const Visit = defineEntity({
  name: 'Visit',
  properties: { id: p.integer().primary(), page: p.string() },
});

export async function scrapeOnce(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Visit] }, env)));

  const registry = new Registry();
  // Every database bound in the container, labelled with its name (here database="default").
  // Before start(): the acquire wait histogram observes every checkout from here on.
  registerPoolMetrics(registry, { container });

  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start();
  try {
    await container.get(MikroORM).em.fork().count(Visit);
    // What GET /metrics answers, with the content type registry.contentType.
    return await registry.metrics();
  } finally {
    await lifecycle.stop();
  }
}
