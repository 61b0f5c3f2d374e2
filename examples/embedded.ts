import 'reflect-metadata';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, Session } from 'inversify-mikro-orm';
import { EmbeddedDatabase, embeddedDatabaseConfig } from 'inversify-mikro-orm/embedded';
import { Note } from './usage.js';

/** Development and tests only: the application asks for the embedded server; the core never starts one. */
export async function main(dataDir = '.data/notes') {
  const embedded = new EmbeddedDatabase({ dataDir, database: 'notes' });
  const container = new Container();
  container.load(databaseModule(embeddedDatabaseConfig(embedded, { entities: [Note] })));
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start(); // starts PostgreSQL in dataDir (kept across runs), then connects
  try {
    const session = container.get(Session);
    session.create(Note, { body: 'kept in dataDir' });
    await session.flush();
    return await session.count(Note);
  } finally {
    await lifecycle.stop(); // closes the ORM, then stops the server
  }
}
