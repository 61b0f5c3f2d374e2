import 'reflect-metadata';
import type { Server } from 'node:http';
import { ApplyMiddleware, Controller, Get, Params, Post, Request, UseGuard } from '@inversifyjs/http-core';
import { type ExpressGuard, type ExpressMiddleware, InversifyExpressHttpAdapter } from '@inversifyjs/http-express';
import { MikroORM } from '@mikro-orm/postgresql';
import express, { type Request as ExpressRequest, type NextFunction, type Response } from 'express';
import { Container, inject, injectable } from 'inversify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskSchema } from '../src/app/task.entity.js';
import { sessionPerRequest } from '../src/express/index.js';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session } from '../src/index.js';
import { type AbortMode, abortOutcome, ClientAbortScenario, ROW_TITLES } from './helpers/client-abort.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

type ProbedRequest = ExpressRequest & { guardSession?: Session; middlewareSession?: Session };

@injectable()
class ProbeService {
  constructor(@inject(Session) readonly session: Session) {}
}

@injectable()
class ProbeGuard implements ExpressGuard {
  constructor(@inject(Session) private readonly session: Session) {}
  activate(request: ProbedRequest): boolean {
    request.guardSession = this.session;
    return true;
  }
}

@injectable()
class ProbeMiddleware implements ExpressMiddleware {
  constructor(@inject(Session) private readonly session: Session) {}
  execute(request: ProbedRequest, _response: Response, next: NextFunction): void {
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

  @Post('/abort/:mode')
  write(@Params({ name: 'mode' }) mode: AbortMode, @Request() request: ExpressRequest) {
    return (ClientAbortScenario.current as ClientAbortScenario).handle(this.session, request.socket, mode);
  }
}

describe('one Session per HTTP request on Express 5 with @inversifyjs/http-express (real HTTP)', () => {
  let db: IsolatedDatabase;
  let lifecycle: AppLifecycle;
  let server: Server;
  let base: string;
  const warnings: string[] = [];

  beforeAll(async () => {
    db = await testDatabase.create('express');
    const container = new Container();
    container.load(databaseModule(loadDatabaseConfig({ entities: [TaskSchema] }, db.env({ DB_POOL_MAX: '15' }))));
    container.bind(ProbeService).toSelf();
    container.bind(ProbeGuard).toSelf();
    container.bind(ProbeMiddleware).toSelf();
    container.bind(ProbeController).toSelf();
    lifecycle = container.get(AppLifecycle);
    await lifecycle.start({ container });

    const app = express();
    app.use(express.json());
    app.use(
      sessionPerRequest(container.get(MikroORM), { log: { warn: (_details, message) => warnings.push(message) } }),
    );
    await new InversifyExpressHttpAdapter(container, { logger: false }, app).build();
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await db.query("insert into task (title, done, created_at, updated_at) values ('probe', false, now(), now())");
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await lifecycle.stop();
    await db.drop();
  });

  const probe = async () => {
    const response = await fetch(`${base}/probe/sessions`);
    expect(response.status).toBe(200);
    return (await response.json()) as { ids: number[]; sameEntity: boolean };
  };

  it('is shared by the middleware, the guard, the controller and its service', async () => {
    const { ids, sameEntity } = await probe();
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(1);
    expect(sameEntity).toBe(true);
  });

  it('is never shared by two of 200 concurrent requests', async () => {
    const bodies = await Promise.all(Array.from({ length: 200 }, probe));
    for (const { ids } of bodies) expect(new Set(ids).size).toBe(1);
    expect(new Set(bodies.map(({ ids }) => ids[0])).size).toBe(200);
  });

  it('rolls back a transaction a failing handler left open, leaving no idle-in-transaction connection', async () => {
    const response = await fetch(`${base}/probe/leak`);
    expect(response.status).toBe(500);
    await expect.poll(async () => (await abortOutcome(db)).idleInTransaction, { timeout: 3000 }).toBe(0);
    expect(warnings.some((message) => message.includes('transaction was still open'))).toBe(true);
  });

  describe('when the client disconnects in the middle of a transaction', () => {
    beforeEach(async () => {
      await db.query('delete from task where title = any($1)', [ROW_TITLES]);
    });

    it('lets the handler finish: a transaction it commits keeps both rows', async () => {
      await ClientAbortScenario.run(`${base}/probe/abort/commit`);
      await expect
        .poll(() => abortOutcome(db), { timeout: 3000 })
        .toEqual({
          titles: ROW_TITLES,
          idleInTransaction: 0,
        });
    });

    it('rolls back a transaction left open only once the handler is done: neither row stays', async () => {
      await ClientAbortScenario.run(`${base}/probe/abort/leave-open`);
      await expect.poll(() => abortOutcome(db), { timeout: 3000 }).toEqual({ titles: [], idleInTransaction: 0 });
    });
  });
});
