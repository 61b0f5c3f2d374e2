import 'reflect-metadata';
import { defineEntity, EntitySchema, p } from '@mikro-orm/core';
import { Embeddable, Property } from '@mikro-orm/decorators/legacy';
import { EntityRepository } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { databaseModule, loadDatabaseConfig, repositoryOf } from '../src/index.js';
import { Note } from './helpers/entities.js';
import { Ticket, TicketRepository } from './helpers/ticket.entity.js';

class Author {
  id!: number;
  name!: string;
}
const AuthorSchema = defineEntity({
  class: Author,
  properties: { id: p.integer().primary(), name: p.string() },
});

const Label = new EntitySchema<{ id: number; text: string }>({
  name: 'Label',
  properties: { id: { type: 'integer', primary: true }, text: { type: 'string' } },
});

class ShelfRepository extends EntityRepository<object> {}
const Shelf = defineEntity({
  name: 'Shelf',
  repository: () => ShelfRepository,
  properties: { id: p.integer().primary() },
});

@Embeddable()
class Address {
  @Property({ type: 'string' })
  street!: string;
}

/** No database is touched: the ORM is built lazily and never connects here. */
function containerWith(entities: unknown[]): Container {
  const container = new Container();
  container.load(
    databaseModule(
      loadDatabaseConfig({ entities: entities as never }, { DATABASE_URL: 'postgresql://u@127.0.0.1:1/db' }),
    ),
  );
  return container;
}

describe('repositoryOf', () => {
  it('gives the same identifier for the same entity and database, another for another database', () => {
    expect(repositoryOf(Note)).toBe(repositoryOf(Note));
    expect(repositoryOf(Note, 'default')).toBe(repositoryOf(Note));
    expect(repositoryOf(Note, 'reports')).toBe(repositoryOf(Note, 'reports'));
    expect(repositoryOf(Note, 'reports')).not.toBe(repositoryOf(Note));
    expect(repositoryOf(Ticket)).not.toBe(repositoryOf(Note));
  });

  it('treats a schema that names its class and that class as one entity', () => {
    expect(repositoryOf(Author)).toBe(repositoryOf(AuthorSchema));
  });

  it('names the entity and the database, for messages', () => {
    expect(String(repositoryOf(Note))).toBe('Symbol(repositoryOf(Note))');
    expect(String(repositoryOf(Ticket, 'reports'))).toBe("Symbol(repositoryOf(Ticket, 'reports'))");
  });

  it('is bound by databaseModule for entity classes, EntitySchema instances and defineEntity results', () => {
    const container = containerWith([Ticket, Note, Label, AuthorSchema, Address]);
    for (const entity of [Ticket, Note, Label, AuthorSchema, Author]) {
      expect(container.isBound(repositoryOf(entity as never)), String(repositoryOf(entity as never))).toBe(true);
    }
    expect(container.isBound(repositoryOf(Address as never))).toBe(false);
    expect(container.get(repositoryOf(Note))).toBeInstanceOf(EntityRepository);
  });

  it('binds a custom repository under its own class too, declared by decorators or by defineEntity', () => {
    const container = containerWith([Ticket, Note, Shelf]);
    expect(container.get(TicketRepository)).toBeInstanceOf(TicketRepository);
    expect(container.get(repositoryOf(Ticket))).toBeInstanceOf(TicketRepository);
    expect(container.get(ShelfRepository)).toBeInstanceOf(ShelfRepository);
    expect(container.get(repositoryOf(Shelf))).toBeInstanceOf(ShelfRepository);
  });
});
