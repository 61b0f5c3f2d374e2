import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { TaskSchema } from '../../../src/app/task.entity.js';
import { nestOrmOptions } from './database-options.js';
import { TasksController } from './tasks.controller.js';
import { TasksService } from './tasks.service.js';

/** @mikro-orm/nestjs as documented: forRoot (which registers the request-context middleware) and forFeature. */
@Module({
  imports: [MikroOrmModule.forRoot(nestOrmOptions(process.env)), MikroOrmModule.forFeature([TaskSchema])],
  controllers: [TasksController],
  providers: [TasksService],
})
export class AppModule {}
