import 'reflect-metadata';
import { InversifyFastifyHttpAdapter } from '@inversifyjs/http-fastify';
import Fastify from 'fastify';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig } from 'inversify-mikro-orm';
import { registerSessionPerRequest } from 'inversify-mikro-orm/fastify';
import { NotesController } from './notes.controller.js';
import { Note, NoteService } from './usage.js';

export async function serve(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, env)));
  container.bind(NoteService).toSelf();
  container.bind(NotesController).toSelf();
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start({ container });

  const app = Fastify();
  await app.register(registerSessionPerRequest, { container }); // before the routes
  await new InversifyFastifyHttpAdapter(container, { logger: false }, app).build();
  lifecycle.onStop('http', () => app.close()); // drain requests first, then the ORM closes
  return { url: await app.listen({ port: 0, host: '127.0.0.1' }), stop: () => lifecycle.stop() };
}
