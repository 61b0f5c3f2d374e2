import {
  type EntityMetadata,
  type EntityName,
  EntitySchema,
  type GetRepository,
  MetadataStorage,
} from '@mikro-orm/core';
import type { EntityRepository } from '@mikro-orm/postgresql';
import type { Newable, ServiceIdentifier } from 'inversify';
import { DEFAULT_DATABASE } from './database-name.js';

/** The repository `repositoryOf(entity)` resolves to: the entity's custom repository when it declares one. */
export type RepositoryOf<T extends object> = GetRepository<T, EntityRepository<T>>;

const identifiers = new WeakMap<object, Map<string, symbol>>();

/**
 * A schema that names its class (`defineEntity({ class: Task, ... })`) and that class are one
 * entity: both give the same identifier.
 */
function entityKey(entity: EntityName): object {
  return (typeof entity === 'function' && EntitySchema.REGISTRY.get(entity)) || entity;
}

function entityLabel(entity: EntityName): string {
  return EntitySchema.is(entity) ? String(entity.meta.className ?? entity.name) : entity.name;
}

/**
 * The service identifier of an entity's repository in one database: `@inject(repositoryOf(Task))`.
 * It resolves to the repository of the current Session (the request's, the job's, else a fresh
 * fork), so it shares one identity map with every Session and repository of that unit of work.
 * The same entity and database always give the same identifier.
 */
export function repositoryOf<T extends object>(
  entity: EntityName<T>,
  database: string = DEFAULT_DATABASE,
): ServiceIdentifier<RepositoryOf<T>> {
  const key = entityKey(entity);
  let byDatabase = identifiers.get(key);
  if (!byDatabase) {
    byDatabase = new Map();
    identifiers.set(key, byDatabase);
  }
  let identifier = byDatabase.get(database);
  if (!identifier) {
    const suffix = database === DEFAULT_DATABASE ? '' : `, '${database}'`;
    identifier = Symbol(`repositoryOf(${entityLabel(entity)}${suffix})`);
    byDatabase.set(database, identifier);
  }
  return identifier;
}

/** What the entity's definition says, before any ORM discovered it: a schema's own, or its decorators'. */
function declaredMetadata(entity: EntityName): Partial<EntityMetadata> | undefined {
  const key = entityKey(entity);
  if (EntitySchema.is(key)) return key.meta;
  return Object.hasOwn(key, MetadataStorage.META_SYMBOL)
    ? (key as unknown as Record<symbol, EntityMetadata>)[MetadataStorage.META_SYMBOL]
    : undefined;
}

/** An entity of `config.entities` that has a repository (not a folder path, not an embeddable). */
export function hasRepository(entity: unknown): entity is EntityName {
  if (typeof entity !== 'function' && !EntitySchema.is(entity)) return false;
  return declaredMetadata(entity as EntityName)?.embeddable !== true;
}

/** The class of `repository: () => TaskRepository`, when the entity declares one. */
export function customRepositoryOf(entity: EntityName): Newable<unknown> | undefined {
  const declared = declaredMetadata(entity)?.repository as (() => Newable<unknown>) | undefined;
  return declared?.();
}

/** Each entity once, even when both a schema and the class it names are listed. */
export function distinctEntities(entities: readonly unknown[] | undefined): EntityName[] {
  const seen = new Set<object>();
  return (entities ?? []).filter(hasRepository).filter((entity) => {
    const key = entityKey(entity);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
