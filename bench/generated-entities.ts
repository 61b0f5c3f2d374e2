import { type AnyEntity, defineEntity, type EntitySchema, p } from '@mikro-orm/core';

/**
 * `count` entities, each its own table with a handful of columns, an index and a foreign key to the
 * one before, so a schema diff has real work to do.
 */
export function generatedEntities(count: number): EntitySchema<AnyEntity>[] {
  const entities: EntitySchema<AnyEntity>[] = [];
  for (let i = 1; i <= count; i++) {
    const previous = entities.at(-1);
    const properties = {
      id: p.integer().primary(),
      name: p.string().length(100).index(),
      amount: p.decimal().precision(12).scale(2).default(0),
      active: p.boolean().default(true),
      createdAt: p.datetime().onCreate(() => new Date()),
      ...(previous ? { previous: p.manyToOne(previous).nullable() } : {}),
    };
    entities.push(
      defineEntity({ name: `Generated${i}`, tableName: `generated_${i}`, properties }) as EntitySchema<AnyEntity>,
    );
  }
  return entities;
}
