import type { EntityRepository } from '@mikro-orm/postgresql';
import { inject, injectable } from 'inversify';
import { repositoryOf, Session } from 'inversify-mikro-orm';
import { notFound } from '../../src/app/api-error.js';
import { type Task, TaskSchema } from '../../src/app/task.entity.js';
import { TaskService } from '../../src/app/task.service.js';
import type { CreateTaskInput } from '../../src/app/task-input.js';
import type { TaskView } from '../../src/app/task-view.js';
import { runTasksApi } from './tasks-api.js';

/**
 * The Tasks API with some of the choices in BENCHMARKS.md undone, so each one's gain is measured
 * against the real service in the same run. BENCH_UNDO is a comma-separated list:
 * - `plain-views`: GET /tasks/:id and POST /tasks answer the entity itself, which the schema
 *   serializer turns into JSON through the entity's `toJSON()`, instead of a plain TaskView. The
 *   same `findOne` and `create` + `flush` as TaskService's.
 */
const undo = new Set((process.env.BENCH_UNDO ?? '').split(',').filter(Boolean));

// Inversify does not inherit constructor injections: the subclass declares its own.
@injectable()
class EntityResponseTaskService extends TaskService {
  constructor(
    @inject(repositoryOf(TaskSchema)) private readonly repository: EntityRepository<Task>,
    @inject(Session) private readonly unitOfWork: Session,
  ) {
    super(repository, unitOfWork);
  }

  override async create(input: CreateTaskInput): Promise<TaskView> {
    const task = this.repository.create({ title: input.title, done: input.done ?? false });
    await this.unitOfWork.flush();
    return task as unknown as TaskView;
  }

  override async get(id: number): Promise<TaskView> {
    const task = await this.repository.findOne(id);
    if (!task) throw notFound(`task ${id} does not exist`);
    return task as unknown as TaskView;
  }
}

await runTasksApi({
  configure: (container) => {
    if (undo.has('plain-views')) container.rebind(TaskService).to(EntityResponseTaskService).inTransientScope();
  },
});
