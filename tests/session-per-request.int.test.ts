import { ApplyMiddleware, Controller, Get, Params, Post, Request, UseGuard } from '@inversifyjs/http-core';
import type { FastifyGuard, FastifyMiddleware } from '@inversifyjs/http-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { inject, injectable } from 'inversify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskSchema } from '../src/app/task.entity.js';
import { Session } from '../src/index.js';
import { type AbortMode, abortOutcome, ClientAbortScenario, ROW_TITLES } from './helpers/client-abort.js';
import { startTasksApp, type TasksApp } from './helpers/tasks-app.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

type ProbedRequest = FastifyRequest & { guardSession?: Session; middlewareSession?: Session };

@injectable()
class ProbeService {
  constructor(@inject(Session) readonly session: Session) {}
}

@injectable()
class ProbeGuard implements FastifyGuard {
  constructor(@inject(Session) private readonly session: Session) {}
  activate(request: ProbedRequest): boolean {
    request.guardSession = this.session;
    return true;
  }
}

@injectable()
class ProbeMiddleware implements FastifyMiddleware {
  constructor(@inject(Session) private readonly session: Session) {}
  execute(request: ProbedRequest, _reply: FastifyReply, next: () => void): void {
    request.middlewareSession = this.session;
    next();
  }
}

/** Reports which Session each injection point of one request received. */
@Controller('/probe')
class ProbeController {
  constructor(
    @inject(Session) private readonly session: Session,
    @inject(ProbeService) private readonly service: ProbeService,
  ) {}

  @ApplyMiddleware(ProbeMiddleware)
  @UseGuard(ProbeGuard)
  @Get('/sessions')
  async sessions(@Request() request: ProbedRequest) {
    // The same identity map: an entity loaded through one injection point is the very object in another.
    const viaService = await this.service.session.findOne(TaskSchema, 1);
    const viaController = await this.session.findOne(TaskSchema, 1);
    return {
      ids: [request.middlewareSession?.id, request.guardSession?.id, this.session.id, this.service.session.id],
      sameEntity: viaService !== null && viaService === viaController,
    };
  }

  @Get('/leak')
  async leak(): Promise<never> {
    await this.session.begin();
    await this.session.execute('select 1');
    throw new Error('handler failed with a transaction open');
  }
}

@Controller('/abort')
class ClientAbortController {
  constructor(@inject(Session) private readonly session: Session) {}

  @Post('/:mode')
  write(@Params({ name: 'mode' }) mode: AbortMode, @Request() request: FastifyRequest) {
    return (ClientAbortScenario.current as ClientAbortScenario).handle(this.session, request.raw.socket, mode);
  }
}

describe('one Session per HTTP request', () => {
  let db: IsolatedDatabase;
  let tasks: TasksApp;

  beforeAll(async () => {
    db = await testDatabase.create('per_request');
    tasks = await startTasksApp(db.env({ DB_POOL_MAX: '15' }), (container) => {
      container.bind(ProbeService).toSelf();
      container.bind(ProbeGuard).toSelf();
      container.bind(ProbeMiddleware).toSelf();
      container.bind(ProbeController).toSelf();
      container.bind(ClientAbortController).toSelf();
    });
    await tasks.app.listen({ port: 0, host: '127.0.0.1' });
    await db.query("insert into task (title, done, created_at, updated_at) values ('probe', false, now(), now())");
  });

  afterAll(async () => {
    await tasks.lifecycle.stop();
    await db.drop();
  });

  it('is shared by the middleware, the guard, the controller and its service', async () => {
    const response = await tasks.app.inject({ method: 'GET', url: '/probe/sessions' });
    expect(response.statusCode).toBe(200);
    const { ids, sameEntity } = response.json<{ ids: number[]; sameEntity: boolean }>();
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(1);
    expect(sameEntity).toBe(true);
  });

  it('is never shared by two of 200 concurrent requests', async () => {
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => tasks.app.inject({ method: 'GET', url: '/probe/sessions' })),
    );
    const ids = responses.map((r) => {
      const body = r.json<{ ids: number[] }>();
      expect(new Set(body.ids).size).toBe(1);
      return body.ids[0];
    });
    expect(new Set(ids).size).toBe(200);
  });

  it('rolls back a transaction a failing handler left open, leaving no idle-in-transaction connection', async () => {
    const response = await tasks.app.inject({ method: 'GET', url: '/probe/leak' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'internal_error', message: 'Internal server error' });
    await expect
      .poll(
        async () =>
          db.query("select pid from pg_stat_activity where datname = $1 and state like 'idle in transaction%'", [
            db.name,
          ]),
        { timeout: 3000 },
      )
      .toEqual([]);
    expect(tasks.logs.some((line) => String(line.msg).includes('transaction was still open'))).toBe(true);
  });

  describe('when the client disconnects in the middle of a transaction (real HTTP)', () => {
    const url = (mode: AbortMode) => {
      const { port } = tasks.app.server.address() as { port: number };
      return `http://127.0.0.1:${port}/abort/${mode}`;
    };

    beforeEach(async () => {
      await db.query('delete from task where title = any($1)', [ROW_TITLES]);
    });

    it('lets the handler finish: a transaction it commits keeps both rows', async () => {
      await ClientAbortScenario.run(url('commit'));
      await expect
        .poll(() => abortOutcome(db), { timeout: 3000 })
        .toEqual({
          titles: ROW_TITLES,
          idleInTransaction: 0,
        });
    });

    it('rolls back a transaction left open only once the handler is done: neither row stays', async () => {
      await ClientAbortScenario.run(url('leave-open'));
      await expect.poll(() => abortOutcome(db), { timeout: 3000 }).toEqual({ titles: [], idleInTransaction: 0 });
    });
  });
});
