import { inject, injectable } from 'inversify';
import { retryableRead, Session } from 'inversify-mikro-orm';
import { notFound } from './api-error.js';
import { type Task, TaskSchema } from './task.entity.js';
import type { CreateTaskInput, Page, UpdateTaskInput } from './task-input.js';
import { rowToTaskView, type TaskRow, type TaskView, toTaskView } from './task-view.js';

export interface TaskPage extends Page {
  items: TaskView[];
  total: number;
}

/** The statement `findOne(TaskSchema, id)` sends, without the entity machinery around it. */
const SELECT_TASK = 'select "t0".* from "task" as "t0" where "t0"."id" = ? limit 1';

/**
 * The Tasks use cases. It stages changes in the injected `Session` and leaves the commit to the
 * caller: the controller gets the same Session and flushes once, the whole request one unit of work.
 */
@injectable()
export class TaskService {
  constructor(@inject(Session) readonly session: Session) {}

  create(input: CreateTaskInput): Task {
    return this.session.create(TaskSchema, { title: input.title, done: input.done ?? false });
  }

  async list(page: Page): Promise<TaskPage> {
    const [items, total] = await this.session.findAndCount(
      TaskSchema,
      {},
      { limit: page.limit, offset: page.offset, orderBy: { id: 'asc' } },
    );
    return { items: items.map(toTaskView), total, ...page };
  }

  /**
   * One task, read only. A plain query through the Session (same connection, same transaction,
   * logged with DB_ECHO) instead of `findOne`: no entity, no identity map, nothing to flush, and
   * about half the CPU of the whole request (see BENCHMARKS.md). Declared a read, so a lost
   * connection costs a retry rather than an error, as it would with `findOne`.
   */
  async view(id: number): Promise<TaskView> {
    const row: TaskRow | undefined = await retryableRead(() => this.session.execute<TaskRow>(SELECT_TASK, [id], 'get'));
    if (!row) throw notFound(`task ${id} does not exist`);
    return rowToTaskView(row, this.session.getPlatform());
  }

  async get(id: number): Promise<Task> {
    const task = await this.session.findOne(TaskSchema, id);
    if (!task) throw notFound(`task ${id} does not exist`);
    return task;
  }

  async update(id: number, input: UpdateTaskInput): Promise<Task> {
    const task = await this.get(id);
    return this.session.assign(task, input);
  }

  async remove(id: number): Promise<void> {
    this.session.remove(await this.get(id));
  }
}
