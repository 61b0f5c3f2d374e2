import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityManager, type EntityRepository } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { notFound } from '../../../src/app/api-error.js';
import { type Task, TaskSchema } from '../../../src/app/task.entity.js';
import type { CreateTaskInput } from '../../../src/app/task-input.js';
import { type TaskView, toTaskView } from '../../../src/app/task-view.js';

/**
 * The Tasks API's TaskService (src/app/task.service.ts) for the two benchmarked use cases, written
 * the NestJS way: a singleton holding the global EntityManager and repository, which MikroORM
 * points at the request's fork (@mikro-orm/nestjs's middleware opens a RequestContext per
 * request). Same calls: `findOne` through the repository, `create` + `flush`, a plain TaskView.
 */
@Injectable()
export class TasksService {
  constructor(
    @InjectRepository(TaskSchema) private readonly tasks: EntityRepository<Task>,
    private readonly em: EntityManager,
  ) {}

  async create(input: CreateTaskInput): Promise<TaskView> {
    const task = this.tasks.create({ title: input.title, done: input.done ?? false });
    await this.em.flush();
    return toTaskView(task);
  }

  async get(id: number): Promise<TaskView> {
    const task = await this.tasks.findOne(id);
    if (!task) throw notFound(`task ${id} does not exist`);
    return toTaskView(task);
  }
}
