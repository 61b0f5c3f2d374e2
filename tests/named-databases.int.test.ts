import 'reflect-metadata';
import { Transactional } from '@mikro-orm/decorators/legacy';
import { MikroORM } from '@mikro-orm/postgresql';
import Fastify, { type FastifyInstance } from 'fastify';
import { Container, inject, injectable, named } from 'inversify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerSessionPerRequest } from '../src/fastify/index.js';
import {
  AppLifecycle,
  databaseModule,
  isInversifyMikroOrmError,
  loadDatabaseConfig,
  repositoryOf,
  Session,
  validateScopes,
  withSession,
} from '../src/index.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';
import { Ticket, TicketRepository } from './helpers/ticket.entity.js';

const REPORTS = { name: 'reports' };

/** The application's database holds notes; the "reports" database holds tickets. */
function loadBoth(container: Container, main: Record<string, string>, reports: Record<string, string>): void {
  container.load(databaseModule(loadDatabaseConfig({ entities: [Note] }, main)));
  container.load(databaseModule(loadDatabaseConfig({ entities: [Ticket] }, reports, { prefix: 'REPORTS_' }), REPORTS));
}

@injectable()
class Dashboard {
  constructor(
    @inject(Session) readonly main: Session,
    @inject(Session) @named('reports') readonly reports: Session,
    @inject(repositoryOf(Ticket, 'reports')) readonly tickets: TicketRepository,
    @inject(TicketRepository) @named('reports') readonly customTickets: TicketRepository,
  ) {}
}

/** Writes to the reports database in its own transaction, and to the main one through the main Session. */
@injectable()
class ReportWriter {
  constructor(
    @inject(Session) @named('reports') private readonly reports: Session,
    @inject(Session) private readonly main: Session,
  ) {}

  @Transactional({ contextName: 'reports' })
  async file(title: string): Promise<void> {
    this.reports.create(Ticket, { title });
    this.main.create(Note, { body: `noted: ${title}` });
  }
}

@injectable()
class NoteTaker {
  constructor(
    @inject(Session) readonly session: Session,
    @inject(ReportWriter) readonly writer: ReportWriter,
  ) {}

  @Transactional()
  async takeNote(fail: boolean): Promise<void> {
    this.session.create(Note, { body: 'taken' });
    await this.writer.file('filed');
    if (fail) throw new Error('note taking failed');
  }
}

describe('named databases', () => {
  let main: IsolatedDatabase;
  let reports: IsolatedDatabase;
  let container: Container;
  let lifecycle: AppLifecycle;
  let http: FastifyInstance;
  let ticketId: number;

  beforeAll(async () => {
    [main, reports] = await Promise.all([testDatabase.create('named_main'), testDatabase.create('named_reports')]);
    container = new Container();
    loadBoth(container, main.env(), reports.env({}, 'REPORTS_'));
    container.bind(Dashboard).toSelf();
    container.bind(ReportWriter).toSelf();
    container.bind(NoteTaker).toSelf();
    lifecycle = container.get(AppLifecycle);
    await lifecycle.start({ container });
    [{ id: ticketId }] = await reports.query<{ id: number }>("insert into ticket (title) values ('seed') returning id");
    http = Fastify();
    await http.register(registerSessionPerRequest, { container: container });
    http.get('/sessions', async () => {
      const [first, second] = [container.get(Dashboard), container.get(Dashboard)];
      const viaSession = await first.reports.findOneOrFail(Ticket, ticketId);
      return {
        mainShared: first.main === second.main && first.main === container.get(Session),
        reportsShared: first.reports === second.reports,
        distinct: first.main !== first.reports,
        sameTicket: viaSession === (await second.tickets.findOneOrFail(ticketId)),
        sameTicketViaCustom: viaSession === (await second.customTickets.findOneOrFail(ticketId)),
        ids: [first.main.id, first.reports.id],
      };
    });
    await http.ready();
  });

  afterAll(async () => {
    await http?.close();
    await lifecycle?.stop();
    await Promise.all([main?.drop(), reports?.drop()]);
  });

  beforeEach(async () => {
    await main.query('delete from note');
  });

  it('binds a second ORM, Session and repositories beside the default ones', () => {
    const defaultOrm = container.get(MikroORM);
    const reportsOrm = container.get(MikroORM, REPORTS);
    expect(reportsOrm).not.toBe(defaultOrm);
    expect(container.get(MikroORM, { name: 'default' })).toBe(defaultOrm);
    expect(defaultOrm.config.get('contextName')).toBe('default');
    expect(reportsOrm.config.get('contextName')).toBe('reports');
    expect(reportsOrm.config.get('dbName')).toBe(reports.name);
    expect(container.get(Session, REPORTS).name).toBe('reports');
    expect(container.get(Session).name).toBe('default');
    expect(container.get(TicketRepository, REPORTS)).toBeInstanceOf(TicketRepository);
    expect(container.isBound(repositoryOf(Ticket))).toBe(false);
    expect(container.isBound(repositoryOf(Note, 'reports'))).toBe(false);
  });

  it('starts every database with one AppLifecycle: each got its own schema', async () => {
    const tables = async (db: IsolatedDatabase) =>
      (
        await db.query<{ table_name: string }>(
          "select table_name from information_schema.tables where table_schema = 'public'",
        )
      )
        .map((row) => row.table_name)
        .filter((name) => !name.startsWith('inversify_mikro_orm'));
    expect(await tables(main)).toEqual(['note']);
    expect(await tables(reports)).toEqual(['ticket']);
    expect(container.get(AppLifecycle)).toBe(lifecycle);
    expect(lifecycle.state).toBe('running');
  });

  it('gives one HTTP request one Session per database, shared by every injection point', async () => {
    const [one, two] = await Promise.all([
      http.inject({ method: 'GET', url: '/sessions' }),
      http.inject({ method: 'GET', url: '/sessions' }),
    ]);
    for (const response of [one, two]) {
      expect(response.json()).toMatchObject({
        mainShared: true,
        reportsShared: true,
        distinct: true,
        sameTicket: true,
        sameTicketViaCustom: true,
      });
    }
    const ids = [...one.json<{ ids: number[] }>().ids, ...two.json<{ ids: number[] }>().ids];
    expect(new Set(ids).size).toBe(4);
  });

  it('gives withSession one Session per database too', async () => {
    await withSession(container, async (session) => {
      const dashboard = container.get(Dashboard);
      expect(session).toBe(dashboard.main);
      expect(container.get(Session, REPORTS)).toBe(dashboard.reports);
      const ticket = await dashboard.reports.findOneOrFail(Ticket, ticketId);
      expect(await container.get(repositoryOf(Ticket, 'reports')).findOneOrFail(ticketId)).toBe(ticket);
    });
  });

  it("keeps a write to one database in that database's transaction while another database's transaction runs", async () => {
    await withSession(container, () => container.get(NoteTaker).takeNote(false));
    expect((await main.query('select body from note order by body')).map((row) => row.body)).toEqual([
      'noted: filed',
      'taken',
    ]);
    await main.query('delete from note');
    await expect(withSession(container, () => container.get(NoteTaker).takeNote(true))).rejects.toThrow(
      'note taking failed',
    );
    // The reports transaction committed on its own; the main one, with the note written inside it, rolled back.
    expect(await main.query('select body from note')).toEqual([]);
    expect(await reports.query("select title from ticket where title = 'filed'")).toHaveLength(2);
  });

  it('validateScopes names each captured Session and repository once, with its database', () => {
    const scoped = new Container();
    loadBoth(
      scoped,
      { DATABASE_URL: 'postgresql://u@127.0.0.1:1/main' },
      { REPORTS_DATABASE_URL: 'postgresql://u@127.0.0.1:1/reports' },
    );
    scoped.bind(Dashboard).toSelf().inSingletonScope();
    let message = '';
    try {
      validateScopes(scoped);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.match(/Dashboard \(singleton\) -> Session \(request\)/g)).toHaveLength(1);
    expect(message.match(/Dashboard \(singleton\) -> Session @named\("reports"\) \(request\)/g)).toHaveLength(1);
    expect(message).toContain("Dashboard (singleton) -> repositoryOf(Ticket, 'reports') (request)");
    expect(message).toContain('Dashboard (singleton) -> TicketRepository @named("reports") (request)');
  });

  it('refuses a second database with a name already bound', () => {
    const twice = new Container();
    const env = { REPORTS_DATABASE_URL: 'postgresql://u@127.0.0.1:1/reports' };
    twice.load(databaseModule(loadDatabaseConfig({ entities: [Ticket] }, env, { prefix: 'REPORTS_' }), REPORTS));
    expect(() =>
      twice.load(databaseModule(loadDatabaseConfig({ entities: [Ticket] }, env, { prefix: 'REPORTS_' }), REPORTS)),
    ).toThrow('A database named "reports" is already bound');
  });
});

describe('named databases: start and stop', () => {
  const PASSWORD = 'Unreachable-Pa55';
  const unreachable = (database: string) => `postgresql://u:${PASSWORD}@127.0.0.1:1/${database}`;
  let main: IsolatedDatabase;
  let reports: IsolatedDatabase;

  beforeAll(async () => {
    [main, reports] = await Promise.all([testDatabase.create('named_boot'), testDatabase.create('named_boot_r')]);
  });

  afterAll(async () => {
    await Promise.all([main.drop(), reports.drop()]);
  });

  async function bootFailure(mainEnv: Record<string, string>, reportsEnv: Record<string, string>) {
    const container = new Container();
    loadBoth(container, mainEnv, reportsEnv);
    const error = await container
      .get(AppLifecycle)
      .start()
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    return { error, container };
  }

  it('fails the boot naming the database that failed, without its password, and closes the others', async () => {
    const { error, container } = await bootFailure(main.env(), {
      REPORTS_DATABASE_URL: unreachable('reports'),
      REPORTS_DB_CONNECT_TIMEOUT_MS: '200',
    });
    expect(isInversifyMikroOrmError(error, 'connect')).toBe(true);
    expect((error as Error).message).toMatch(/^Database "reports" did not start: Could not connect/);
    expect((error as Error).message).not.toContain(PASSWORD);
    expect(await container.get(MikroORM).isConnected()).toBe(false);
  });

  it('names the default database when it is the one that fails', async () => {
    const { error } = await bootFailure(
      { DATABASE_URL: unreachable('main'), DB_CONNECT_TIMEOUT_MS: '200' },
      { REPORTS_DATABASE_URL: reports.url },
    );
    expect(isInversifyMikroOrmError(error, 'connect')).toBe(true);
    expect((error as Error).message).toMatch(/^Database "default" did not start: Could not connect/);
    expect((error as Error).message).not.toContain(PASSWORD);
  });

  it("stops every database after the application's stop hooks, the last one started first", async () => {
    const container = new Container();
    loadBoth(container, main.env(), reports.env({}, 'REPORTS_'));
    const lifecycle = container.get(AppLifecycle);
    await lifecycle.start();
    const closed: string[] = [];
    for (const name of ['default', 'reports']) {
      const orm = container.get(MikroORM, { name });
      const close = orm.close.bind(orm);
      orm.close = async (force?: boolean) => {
        closed.push(name);
        return close(force);
      };
    }
    lifecycle.onStop('http server', () => {
      closed.push('http server');
    });
    await lifecycle.stop();
    expect(closed).toEqual(['http server', 'reports', 'default']);
    expect(await container.get(MikroORM).isConnected()).toBe(false);
    expect(await container.get(MikroORM, REPORTS).isConnected()).toBe(false);
  });
});
