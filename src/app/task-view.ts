import type { Task } from './task.entity.js';

/**
 * What the API returns for a task: plain data. Fastify's schema serializer writes a plain object
 * field by field; given an entity it would first call the entity's `toJSON()`, which runs
 * MikroORM's whole serializer, for the same five fields.
 */
export interface TaskView {
  id: number;
  title: string;
  done: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function toTaskView(task: Task): TaskView {
  return { id: task.id, title: task.title, done: task.done, createdAt: task.createdAt, updatedAt: task.updatedAt };
}
