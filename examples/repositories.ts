import 'reflect-metadata';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { EntityRepository } from '@mikro-orm/postgresql';
import { Container, inject, injectable } from 'inversify';
import {
  AppLifecycle,
  databaseModule,
  loadDatabaseConfig,
  repositoryOf,
  Session,
  withSession,
} from 'inversify-mikro-orm';

export const Note = defineEntity({
  name: 'Note',
  properties: { id: p.integer().primary(), body: p.string() },
});
export type Note = InferEntity<typeof Note>;

@injectable()
export class NoteService {
  constructor(
    // The repository of the current Session: same unit of work, same identity map.
    @inject(repositoryOf(Note)) private readonly notes: EntityRepository<Note>,
    @inject(Session) private readonly session: Session,
  ) {}

  async add(body: string): Promise<Note> {
    const note = this.notes.create({ body });
    await this.session.flush();
    return note;
  }

  find(id: number): Promise<Note> {
    return this.notes.findOneOrFail(id);
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, env)));
  container.bind(NoteService).toSelf();
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start({ container });
  try {
    return await withSession(container, async () => {
      const service = container.get(NoteService);
      const note = await service.add('hello');
      return { sameInstance: (await service.find(note.id)) === note };
    });
  } finally {
    await lifecycle.stop();
  }
}
