import { type FindOneOptions, LockMode } from '@mikro-orm/core';
import { Transactional } from '@mikro-orm/decorators/legacy';
import type { EntityRepository } from '@mikro-orm/postgresql';
import { inject, injectable } from 'inversify';
import { repositoryOf, Session } from 'inversify-mikro-orm';
import { notFound } from './api-error.js';
import { type Task, TaskSchema } from './task.entity.js';
import type { CreateTaskInput, Page, UpdateTaskInput } from './task-input.js';
import { type TaskView, toTaskView } from './task-view.js';

export interface TaskPage extends Page {
  items: TaskView[];
  total: number;
}

/**
 * The Tasks use cases, each one unit of work that ends committed and answers plain `TaskView`s.
 * The repository and the Session are the current request's (or `withSession` job's): one
 * identity map, one transaction when there is one.
 */
@injectable()
export class TaskService {
  constructor(
    @inject(repositoryOf(TaskSchema)) private readonly tasks: EntityRepository<Task>,
    @inject(Session) private readonly session: Session,
  ) {}

  async create(input: CreateTaskInput): Promise<TaskView> {
    const task = this.tasks.create({ title: input.title, done: input.done ?? false });
    await this.session.flush();
    return toTaskView(task);
  }

  async list(page: Page): Promise<TaskPage> {
    const [items, total] = await this.tasks.findAndCount(
      {},
      { limit: page.limit, offset: page.offset, orderBy: { id: 'asc' } },
    );
    return { items: items.map(toTaskView), total, ...page };
  }

  async get(id: number): Promise<TaskView> {
    return toTaskView(await this.find(id));
  }

  /**
   * Read, change and write in one transaction, the row locked from the read on: a concurrent
   * DELETE either waits for this update or wins, and then this answers 404 rather than a task
   * that is gone. The flush inside sets `updatedAt` before the view is taken.
   */
  @Transactional()
  async update(id: number, input: UpdateTaskInput): Promise<TaskView> {
    const task = this.tasks.assign(await this.find(id, { lockMode: LockMode.PESSIMISTIC_WRITE }), input);
    await this.session.flush();
    return toTaskView(task);
  }

  /**
   * The task is read from the primary: a read replica may not have replayed a task created a
   * moment ago (in another request), and a removal must not be decided on stale data.
   */
  async remove(id: number): Promise<void> {
    this.session.remove(await this.find(id, { connectionType: 'write' }));
    await this.session.flush();
  }

  private async find(
    id: number,
    options: Pick<FindOneOptions<Task>, 'lockMode' | 'connectionType'> = {},
  ): Promise<Task> {
    const task = await this.tasks.findOne(id, options);
    if (!task) throw notFound(`task ${id} does not exist`);
    return task;
  }
}
