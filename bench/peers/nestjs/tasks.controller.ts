import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { parseCreateTask, parseTaskId } from '../../../src/app/task-input.js';
import type { TaskView } from '../../../src/app/task-view.js';
import { TASKS_PATH } from '../../../src/app/tasks.controller.js';
import { TasksService } from './tasks.service.js';

/** The Tasks API's GET /tasks/:id and POST /tasks, with the app's own input parsing. */
@Controller(TASKS_PATH)
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Get(':id')
  get(@Param('id') id: string): Promise<TaskView> {
    return this.tasks.get(parseTaskId(id));
  }

  /** Nest answers 201 to a POST by default. */
  @Post()
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<TaskView> {
    const task = await this.tasks.create(parseCreateTask(body));
    reply.header('location', `${TASKS_PATH}/${task.id}`);
    return task;
  }
}
