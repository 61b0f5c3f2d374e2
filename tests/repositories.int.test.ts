import type { EntityRepository, InferEntity } from '@mikro-orm/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { inject, injectable } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSessionPerRequest } from '../src/fastify/index.js';
import { repositoryOf, Session, withSession } from '../src/index.js';
import { type StartedContainer, startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';
import { Ticket, TicketRepository } from './helpers/ticket.entity.js';

/** A service that reaches the same rows four ways. */
@injectable()
class Desk {
  constructor(
    @inject(Session) readonly session: Session,
    @inject(repositoryOf(Note)) readonly notes: EntityRepository<InferEntity<typeof Note>>,
    @inject(repositoryOf(Ticket)) readonly tickets: EntityRepository<Ticket>,
    @inject(TicketRepository) readonly customTickets: TicketRepository,
  ) {}
}

describe('repositoryOf(Entity) in a unit of work', () => {
  let db: IsolatedDatabase;
  let app: StartedContainer;
  let http: FastifyInstance;
  let noteId: number;
  let ticketId: number;

  /** Loads the same note and ticket through every path; all of them must be the very same objects. */
  async function sameInstances(): Promise<boolean> {
    const { container } = app;
    const desk = container.get(Desk);
    const notes = [
      await desk.session.findOneOrFail(Note, noteId),
      await desk.notes.findOneOrFail(noteId),
      await container.get(repositoryOf(Note)).findOneOrFail(noteId),
      await container.get(Session).findOneOrFail(Note, noteId),
    ];
    const tickets = [
      await desk.tickets.findOneOrFail(ticketId),
      await desk.customTickets.findOneOrFail(ticketId),
      await container.get(TicketRepository).findOneOrFail(ticketId),
      await container.get(Session).findOneOrFail(Ticket, ticketId),
    ];
    return new Set(notes).size === 1 && new Set(tickets).size === 1;
  }

  beforeAll(async () => {
    db = await testDatabase.create('repositories');
    app = await startContainer(db, { entities: [Note, Ticket] });
    app.container.bind(Desk).toSelf();
    [{ id: noteId }] = await db.query<{ id: number }>("insert into note (body) values ('hello') returning id");
    [{ id: ticketId }] = await db.query<{ id: number }>("insert into ticket (title) values ('broken') returning id");
    http = Fastify();
    await http.register(registerSessionPerRequest, { container: app.container });
    http.get('/same', async () => ({ same: await sameInstances() }));
    await http.ready();
  });

  afterAll(async () => {
    await http.close();
    await app.lifecycle.stop();
    await db.drop();
  });

  it('inside one withSession, every repository and the Session return the same entity instance', async () => {
    expect(await withSession(app.container, sameInstances)).toBe(true);
  });

  it('inside one HTTP request, every repository and the Session return the same entity instance', async () => {
    const response = await http.inject({ method: 'GET', url: '/same' });
    expect(response.json()).toEqual({ same: true });
  });

  it('two units of work never share an identity map', async () => {
    const load = () => withSession(app.container, () => app.container.get(repositoryOf(Note)).findOneOrFail(noteId));
    const [first, second] = await Promise.all([load(), load()]);
    expect(first.body).toBe('hello');
    expect(first).not.toBe(second);
  });

  it("a custom repository's own methods work in the unit's Session", async () => {
    const title = await withSession(app.container, async (session) => {
      const ticket = app.container.get(TicketRepository).open('from the repository');
      await session.flush();
      return (await db.query<{ title: string }>('select title from ticket where id = $1', [ticket.id]))[0]?.title;
    });
    expect(title).toBe('from the repository');
  });
});
