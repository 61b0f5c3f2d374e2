import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session } from 'inversify-mikro-orm';
import { Note } from './usage.js';

// Located from this file: `migrations/*.ts` next to the sources (tsx, the CLI), `*.js` next to the build.
const migrations = { path: fileURLToPath(new URL('./migrations', import.meta.url)) };

export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  // With DB_SCHEMA_UPDATE=migrate in the environment, start() applies the pending migrations.
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note], migrations }, env)));

  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start(); // once across instances; a failing migration fails the boot, naming it
  try {
    return { schema: lifecycle.schemaOutcome, notes: await container.get(Session).count(Note) };
  } finally {
    await lifecycle.stop();
  }
}
