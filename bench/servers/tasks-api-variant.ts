import 'reflect-metadata';
import { CreatedHttpResponse } from '@inversifyjs/http-core';
import { inject, injectable } from 'inversify';
import { Session } from 'inversify-mikro-orm';
import { runService } from '../../src/app/service.js';
import { TaskService } from '../../src/app/task.service.js';
import { parseCreateTask } from '../../src/app/task-input.js';
import { type TaskView, toTaskView } from '../../src/app/task-view.js';
import { TASKS_PATH, TasksController } from '../../src/app/tasks.controller.js';

/**
 * The Tasks API with some of the optimizations in BENCHMARKS.md undone, so each one's gain is
 * measured against the real service in the same run. BENCH_UNDO is a comma-separated list:
 * - `execute-read`: GET /tasks/:id loads the entity with `findOne` (then still answers a view);
 * - `plain-views`: responses carry the entity itself, which the schema serializer turns into JSON
 *   through the entity's `toJSON()` (with `execute-read` also undone, GET answers the entity too).
 */
const undo = new Set((process.env.BENCH_UNDO ?? '').split(',').filter(Boolean));

// Inversify does not inherit constructor injections: each subclass declares its own.
@injectable()
class FindOneTaskService extends TaskService {
  constructor(@inject(Session) session: Session) {
    super(session);
  }

  override async view(id: number): Promise<TaskView> {
    const task = await this.get(id);
    return undo.has('plain-views') ? (task as unknown as TaskView) : toTaskView(task);
  }
}

@injectable()
class EntityResponseTasksController extends TasksController {
  constructor(
    @inject(TaskService) private readonly service: TaskService,
    @inject(Session) private readonly unitOfWork: Session,
  ) {
    super(service, unitOfWork);
  }

  override async create(body: unknown): Promise<CreatedHttpResponse> {
    const task = this.service.create(parseCreateTask(body));
    await this.unitOfWork.flush();
    return new CreatedHttpResponse(task, { location: `${TASKS_PATH}/${task.id}` });
  }
}

await runService({
  configure: (container) => {
    if (undo.has('execute-read')) container.rebind(TaskService).to(FindOneTaskService).inTransientScope();
    if (undo.has('plain-views')) container.rebind(TasksController).to(EntityResponseTasksController).inTransientScope();
  },
});
