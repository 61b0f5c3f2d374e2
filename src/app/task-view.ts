import type { Platform } from '@mikro-orm/core';
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

/** The `task` row as `Session.execute` returns it (MikroORM hands timestamps over as PostgreSQL text). */
export interface TaskRow {
  id: number;
  title: string;
  done: boolean;
  created_at: string;
  updated_at: string;
}

/** Dates are parsed the way MikroORM parses them for entities, so a row and an entity give the same JSON. */
export function rowToTaskView(row: TaskRow, platform: Platform): TaskView {
  return {
    id: row.id,
    title: row.title,
    done: row.done,
    createdAt: platform.parseDate(row.created_at),
    updatedAt: platform.parseDate(row.updated_at),
  };
}
