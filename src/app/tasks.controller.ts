import {
  Body,
  Controller,
  CreatedHttpResponse,
  Delete,
  Get,
  NoContentHttpResponse,
  Params,
  Patch,
  Post,
  Query,
} from '@inversifyjs/http-core';
import { inject } from 'inversify';
import { Session } from 'inversify-mikro-orm';
import { type TaskPage, TaskService } from './task.service.js';
import { parseCreateTask, parsePage, parseTaskId, parseUpdateTask } from './task-input.js';
import { type TaskView, toTaskView } from './task-view.js';

export const TASKS_PATH = '/tasks';

@Controller(TASKS_PATH)
export class TasksController {
  constructor(
    @inject(TaskService) private readonly tasks: TaskService,
    /** The same Session as the service's: what it staged, this commits in one flush. */
    @inject(Session) private readonly session: Session,
  ) {}

  @Post()
  async create(@Body() body: unknown): Promise<CreatedHttpResponse> {
    const task = this.tasks.create(parseCreateTask(body));
    await this.session.flush();
    return new CreatedHttpResponse(toTaskView(task), { location: `${TASKS_PATH}/${task.id}` });
  }

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<TaskPage> {
    return this.tasks.list(parsePage(query));
  }

  @Get('/:id')
  get(@Params({ name: 'id' }) id: string): Promise<TaskView> {
    return this.tasks.view(parseTaskId(id));
  }

  @Patch('/:id')
  async update(@Params({ name: 'id' }) id: string, @Body() body: unknown): Promise<TaskView> {
    const task = await this.tasks.update(parseTaskId(id), parseUpdateTask(body));
    await this.session.flush();
    return toTaskView(task);
  }

  @Delete('/:id')
  async remove(@Params({ name: 'id' }) id: string): Promise<NoContentHttpResponse> {
    await this.tasks.remove(parseTaskId(id));
    await this.session.flush();
    return new NoContentHttpResponse();
  }
}
