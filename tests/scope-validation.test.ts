import 'reflect-metadata';
import { Container, inject, injectable } from 'inversify';
import { describe, expect, it } from 'vitest';
import { TaskSchema } from '../src/app/task.entity.js';
import { tasksModule } from '../src/app/tasks-module.js';
import {
  AppLifecycle,
  databaseModule,
  InversifyMikroOrmError,
  loadDatabaseConfig,
  repositoryOf,
  Session,
  validateScopes,
} from '../src/index.js';
import { Ticket, TicketRepository } from './helpers/ticket.entity.js';

@injectable()
class TaskService {
  constructor(@inject(Session) readonly session: Session) {}
}

@injectable()
class TaskFacade {
  constructor(@inject(TaskService) readonly tasks: TaskService) {}
}

@injectable()
class ReportCache {
  constructor(@inject(TaskFacade) readonly facade: TaskFacade) {}
}

@injectable()
class AuditTrail {
  constructor(@inject(Session) readonly session: Session) {}
}

@injectable()
class AuditReport {
  constructor(@inject(AuditTrail) readonly trail: AuditTrail) {}
}

@injectable()
class TaskCache {
  constructor(@inject(repositoryOf(TaskSchema)) readonly tasks: unknown) {}
}

@injectable()
class TicketDesk {
  constructor(@inject(TicketRepository) readonly tickets: TicketRepository) {}
}

@injectable()
class Clock {}

@injectable()
class Scheduler {
  constructor(@inject(Clock) readonly clock: Clock) {}
}

/** No database is touched: the module connects lazily, and validation only reads bindings. */
function containerWith(bind: (container: Container) => void): Container {
  const container = new Container();
  container.load(
    databaseModule(
      loadDatabaseConfig({ entities: [TaskSchema, Ticket] }, { DATABASE_URL: 'postgresql://u@127.0.0.1:1/db' }),
    ),
  );
  bind(container);
  return container;
}

function scopeError(container: Container): InversifyMikroOrmError {
  try {
    validateScopes(container);
  } catch (error) {
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected validateScopes to throw');
}

describe('validateScopes', () => {
  it('names the whole path from a singleton through transient services to Session', () => {
    const container = containerWith((c) => {
      c.bind(ReportCache).toSelf().inSingletonScope();
      c.bind(TaskFacade).toSelf();
      c.bind(TaskService).toSelf();
    });
    const error = scopeError(container);
    expect(error.kind).toBe('scope');
    expect(error.message).toContain(
      'ReportCache (singleton) -> TaskFacade (transient) -> TaskService (transient) -> Session (request)',
    );
  });

  it('reports every offender at once, direct and through a chain, each once', () => {
    const container = containerWith((c) => {
      c.bind(TaskService).toSelf().inSingletonScope();
      c.bind(TaskFacade).toSelf().inSingletonScope();
      c.bind(AuditTrail).toSelf();
      c.bind(AuditReport).toSelf().inSingletonScope();
    });
    const paths = scopeError(container)
      .message.split('\n')
      .filter((line) => line.endsWith('-> Session (request)'))
      .map((line) => line.trim());
    // TaskFacade -> TaskService stops at the singleton TaskService, which is reported on its own line.
    expect(paths.sort()).toEqual([
      'AuditReport (singleton) -> AuditTrail (transient) -> Session (request)',
      'TaskService (singleton) -> Session (request)',
    ]);
  });

  it('treats repositories like Sessions: repositoryOf(Entity) and a custom repository class', () => {
    const container = containerWith((c) => {
      c.bind(TaskCache).toSelf().inSingletonScope();
      c.bind(TicketDesk).toSelf().inSingletonScope();
    });
    const message = scopeError(container).message;
    expect(message).toContain('TaskCache (singleton) -> repositoryOf(Task) (request)');
    expect(message).toContain('TicketDesk (singleton) -> TicketRepository (request)');
  });

  it('accepts transient and request-scoped users of Session and singletons of singletons', () => {
    const container = containerWith((c) => {
      c.bind(TaskService).toSelf().inRequestScope();
      c.bind(TaskFacade).toSelf();
      c.bind(Clock).toSelf().inSingletonScope();
      c.bind(Scheduler).toSelf().inSingletonScope();
    });
    expect(() => validateScopes(container)).not.toThrow();
  });

  it('accepts the Tasks API as it is wired', () => {
    const container = containerWith((c) => c.load(tasksModule));
    expect(() => validateScopes(container)).not.toThrow();
  });

  it('runs in AppLifecycle.start() before any connection is attempted', async () => {
    const container = containerWith((c) => {
      c.bind(ReportCache).toSelf().inSingletonScope();
      c.bind(TaskFacade).toSelf();
      c.bind(TaskService).toSelf();
    });
    const lifecycle = container.get(AppLifecycle);
    await expect(lifecycle.start({ container })).rejects.toMatchObject({ kind: 'scope' });
  });
});
