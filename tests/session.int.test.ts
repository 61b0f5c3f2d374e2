import { MikroORM } from '@mikro-orm/postgresql';
import { inject, injectable } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, withSession } from '../src/index.js';
import { type StartedContainer, startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

@injectable()
class NoteRepository {
  constructor(@inject(Session) readonly session: Session) {}
}

@injectable()
class NoteService {
  constructor(
    @inject(Session) readonly session: Session,
    @inject(NoteRepository) readonly repository: NoteRepository,
  ) {}
}

describe('Session', () => {
  let db: IsolatedDatabase;
  let app: StartedContainer;

  beforeAll(async () => {
    db = await testDatabase.create('session');
    app = await startContainer(db, { entities: [Note] });
    app.container.bind(NoteRepository).toSelf();
    app.container.bind(NoteService).toSelf();
  });

  afterAll(async () => {
    await app.lifecycle.stop();
    await db.drop();
  });

  it('is one fork throughout one resolution graph', () => {
    const service = app.container.get(NoteService);
    expect(service.session).toBe(service.repository.session);
  });

  it('is a new fork for every container.get', () => {
    const first = app.container.get(NoteService);
    const second = app.container.get(NoteService);
    expect(first.session).not.toBe(second.session);
    expect(first.session).not.toBe(app.container.get(MikroORM).em);
  });

  it('shares what one Session flushed with the next one, not its identity map', async () => {
    const writer = app.container.get(Session);
    const note = writer.create(Note, { body: 'hello' });
    await writer.flush();
    const reader = app.container.get(Session);
    const found = await reader.findOneOrFail(Note, note.id);
    expect(found.body).toBe('hello');
    expect(found).not.toBe(note);
  });

  it('is the same fork everywhere inside withSession, and rolls back what was left open', async () => {
    const warnings: string[] = [];
    const log = { warn: (_d: object, m: string) => warnings.push(m) };
    await withSession(
      app.container,
      async (session) => {
        expect(app.container.get(Session)).toBe(session);
        expect(app.container.get(NoteService).session).toBe(session);
        await session.begin();
        session.create(Note, { body: 'never committed' });
        await session.flush();
      },
      log,
    );
    expect(warnings).toHaveLength(1);
    expect(await db.query("select * from note where body = 'never committed'")).toEqual([]);
    expect(
      await db.query(
        "select state from pg_stat_activity where state = 'idle in transaction' and datname = current_database()",
      ),
    ).toEqual([]);
  });
});
