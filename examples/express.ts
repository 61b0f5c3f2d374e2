import 'reflect-metadata';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { InversifyExpressHttpAdapter } from '@inversifyjs/http-express';
import express from 'express';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig } from 'inversify-mikro-orm';
import { sessionPerRequest } from 'inversify-mikro-orm/express';
import { NotesController } from './notes.controller.js';
import { Note, NoteService } from './usage.js';

export async function serve(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, env)));
  container.bind(NoteService).toSelf();
  container.bind(NotesController).toSelf();
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start({ container });

  const app = express();
  app.use(express.json());
  app.use(sessionPerRequest(container)); // after the body parsers, before the routes
  await new InversifyExpressHttpAdapter(container, { logger: false }, app).build();
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  lifecycle.onStop('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => lifecycle.stop() };
}
