import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session } from '../src/index.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

const Note = defineEntity({
  name: 'Note',
  properties: { id: p.integer().primary(), body: p.string() },
});

describe('databaseModule', () => {
  let db: IsolatedDatabase;
  let container: Container;
  const applicationName = uniqueApplicationName('module');

  beforeAll(async () => {
    db = await testDatabase.create('module');
    container = new Container();
    container.load(
      databaseModule(
        loadDatabaseConfig({ entities: [Note], driverOptions: { application_name: applicationName } }, db.env()),
      ),
    );
    await container.get(AppLifecycle).start();
  });

  afterAll(async () => {
    await container.get(AppLifecycle).stop();
    await db.drop();
  });

  it('binds one MikroORM for the container', () => {
    expect(container.get(MikroORM)).toBe(container.get(MikroORM));
  });

  it('gives each container.get(Session) its own fork', () => {
    const first = container.get(Session);
    const second = container.get(Session);
    expect(first).not.toBe(second);
    expect(first).not.toBe(container.get(MikroORM).em);
  });

  it('lets the next Session read what one Session flushed', async () => {
    const writer = container.get(Session);
    const note = writer.create(Note, { body: 'hello' });
    await writer.flush();
    const reader = container.get(Session);
    const found = await reader.findOneOrFail(Note, note.id);
    expect(found.body).toBe('hello');
    expect(found).not.toBe(note);
  });
});
