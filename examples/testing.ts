import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import Fastify from 'fastify';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session } from 'inversify-mikro-orm';
import { registerSessionPerRequest } from 'inversify-mikro-orm/fastify';
import { createTemplateDatabase, createTestDatabase, withRollback } from 'inversify-mikro-orm/testing';

export const Note = defineEntity({ name: 'Note', properties: { id: p.integer().primary(), body: p.string() } });

async function startApp(env: Record<string, string>) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, env)));
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start({ container });
  const http = Fastify();
  await http.register(registerSessionPerRequest, { container: container });
  http.post<{ Body: { body: string } }>('/notes', async (request) => {
    const session = container.get(Session);
    const note = session.create(Note, { body: request.body.body });
    await session.flush();
    return note;
  });
  return { container, lifecycle, http };
}

/** `serverUrl`: an administrator's URL of the test server (it creates databases). */
export async function main(serverUrl: string) {
  // Once per test run (a global setup): the schema every test starts from.
  const template = await createTemplateDatabase(serverUrl, async (database) => {
    await (await startApp(database.env())).lifecycle.stop();
  });
  // Once per test file or worker: a copy, so files run in parallel.
  const database = await createTestDatabase(serverUrl, { template: template.name, label: 'notes' });
  const { container, lifecycle, http } = await startApp(database.env());
  try {
    // Per test: one transaction, always rolled back; requests sent from inside join it.
    const seen = await withRollback(container, async (session) => {
      await http.inject({ method: 'POST', url: '/notes', payload: { body: 'from a request' } });
      return session.count(Note);
    });
    return { seenInside: seen, leftBehind: await container.get(Session).count(Note) };
  } finally {
    await lifecycle.stop();
    await database.drop();
    await template.drop();
  }
}
