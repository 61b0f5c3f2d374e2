import type { AnyEntity, EntityClass, EntitySchema } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

/** The ORM as `container.get(MikroORM)` types it: the generic constructor infers a read-only entity list. */
export type Orm = MikroORM<EntityManager, readonly (string | EntityClass<AnyEntity> | EntitySchema)[]>;
