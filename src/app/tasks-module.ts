import { ContainerModule } from 'inversify';
import { registerPoolMetrics } from 'inversify-mikro-orm/metrics';
import { Registry } from 'prom-client';
import { HealthController } from './health.controller.js';
import { HttpErrorFilter } from './http-error-filter.js';
import { MetricsController } from './metrics.controller.js';
import { TaskService } from './task.service.js';
import { TasksController } from './tasks.controller.js';

/**
 * The Tasks API's bindings. Controller and service inject the request's Session, so they are
 * transient (a singleton would capture one request's Session forever).
 */
export const tasksModule = new ContainerModule(({ bind }) => {
  bind(TaskService).toSelf().inTransientScope();
  bind(TasksController).toSelf().inTransientScope();
  bind(HealthController).toSelf().inSingletonScope();
  bind(HttpErrorFilter).toSelf().inSingletonScope();
  bind(MetricsController).toSelf().inSingletonScope();
  bind(Registry)
    .toDynamicValue((context) => {
      const registry = new Registry();
      registerPoolMetrics(registry, { container: context });
      return registry;
    })
    .inSingletonScope();
});
