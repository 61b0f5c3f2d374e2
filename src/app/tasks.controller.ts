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
import { type TaskPage, TaskService } from './task.service.js';
import { parseCreateTask, parsePage, parseTaskId, parseUpdateTask } from './task-input.js';
import type { TaskView } from './task-view.js';

export const TASKS_PATH = '/tasks';

/** HTTP in and out; each use case of TaskService commits its own unit of work. */
@Controller(TASKS_PATH)
export class TasksController {
  constructor(@inject(TaskService) private readonly tasks: TaskService) {}

  @Post()
  async create(@Body() body: unknown): Promise<CreatedHttpResponse> {
    const task = await this.tasks.create(parseCreateTask(body));
    return new CreatedHttpResponse(task, { location: `${TASKS_PATH}/${task.id}` });
  }

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<TaskPage> {
    return this.tasks.list(parsePage(query));
  }

  @Get('/:id')
  get(@Params({ name: 'id' }) id: string): Promise<TaskView> {
    return this.tasks.get(parseTaskId(id));
  }

  @Patch('/:id')
  update(@Params({ name: 'id' }) id: string, @Body() body: unknown): Promise<TaskView> {
    return this.tasks.update(parseTaskId(id), parseUpdateTask(body));
  }

  @Delete('/:id')
  async remove(@Params({ name: 'id' }) id: string): Promise<NoContentHttpResponse> {
    await this.tasks.remove(parseTaskId(id));
    return new NoContentHttpResponse();
  }
}
