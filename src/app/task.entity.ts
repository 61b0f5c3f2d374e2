import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const TITLE_MAX_LENGTH = 200;

/** A to-do item. Defined with `defineEntity`, so it needs no decorators or reflection at runtime. */
export const TaskSchema = defineEntity({
  name: 'Task',
  tableName: 'task',
  properties: {
    id: p.integer().primary(),
    title: p.string().length(TITLE_MAX_LENGTH),
    done: p.boolean().default(false),
    // One instant for both on insert: two `new Date()` calls can be a millisecond apart.
    createdAt: p.datetime().onCreate((task) => task.updatedAt ?? new Date()),
    updatedAt: p
      .datetime()
      .onCreate((task) => task.createdAt ?? new Date())
      .onUpdate(() => new Date()),
  },
});

export type Task = InferEntity<typeof TaskSchema>;
