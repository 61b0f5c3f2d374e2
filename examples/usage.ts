import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { Container, inject, injectable } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session, withSession } from 'inversify-mikro-orm';

export const Note = defineEntity({
  name: 'Note',
  properties: { id: p.integer().primary(), body: p.string() },
});

@injectable()
export class NoteService {
  // One Session per unit of work: per HTTP request, per withSession() call, else per container.get.
  constructor(@inject(Session) private readonly session: Session) {}

  async add(body: string) {
    const note = this.session.create(Note, { body });
    await this.session.flush();
    return note;
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, env)));
  container.bind(NoteService).toSelf();

  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start(); // connect (with retry), safe schema update, warm the pool
  try {
    const note = await withSession(container, () => container.get(NoteService).add('hello'));
    const total = await container.get(Session).count(Note);
    return { id: note.id, total };
  } finally {
    await lifecycle.stop(); // stop hooks in reverse order, then orm.close()
  }
}
