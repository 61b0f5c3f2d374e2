import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { Container } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session } from 'inversify-mikro-orm';

export const Note = defineEntity({ name: 'Note', properties: { id: p.integer().primary(), body: p.string() } });

/** Stands in for a secret store, a vault, a token that rotates. */
async function fetchDatabaseUrl(env: NodeJS.ProcessEnv): Promise<string> {
  const url = env.DATABASE_URL;
  if (!url) throw new Error('no database credentials in the secret store');
  return url;
}

export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  await container.loadAsync(
    databaseModule(async () =>
      loadDatabaseConfig({ entities: [Note] }, { ...env, DATABASE_URL: await fetchDatabaseUrl(env) }),
    ),
  );
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start({ container });
  try {
    return { notes: await container.get(Session).count(Note) };
  } finally {
    await lifecycle.stop();
  }
}
