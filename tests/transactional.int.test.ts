import { type EntityRepository, type InferEntity, TransactionPropagation } from '@mikro-orm/core';
import { Transactional } from '@mikro-orm/decorators/legacy';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Container } from 'inversify';
import { inject, injectable } from 'inversify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerSessionPerRequest } from '../src/fastify/index.js';
import { repositoryOf, Session, withSession } from '../src/index.js';
import { type StartedContainer, startContainer } from './helpers/database-container.js';
import { Note } from './helpers/entities.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

type NoteEntity = InferEntity<typeof Note>;
const { REQUIRES_NEW, NESTED, MANDATORY, NOT_SUPPORTED, SUPPORTS, NEVER } = TransactionPropagation;

class Planned extends Error {}

/** The inner service. Its Session lives in a field MikroORM's decorator knows nothing about. */
@injectable()
class Ledger {
  constructor(@inject(Session) private readonly db: Session) {}

  @Transactional()
  async record(body: string, fail = false): Promise<void> {
    this.db.create(Note, { body });
    if (fail) throw new Planned(`record(${body}) failed`);
  }

  @Transactional({ propagation: REQUIRES_NEW })
  async audit(body: string, fail = false): Promise<void> {
    this.db.create(Note, { body });
    if (fail) throw new Planned(`audit(${body}) failed`);
  }

  /** Flushes before failing: what it wrote must go, what its caller staged must stay. */
  @Transactional({ propagation: NESTED })
  async attempt(body: string, fail = false): Promise<void> {
    this.db.create(Note, { body });
    await this.db.flush();
    if (fail) throw new Planned(`attempt(${body}) failed`);
  }

  @Transactional({ propagation: MANDATORY })
  async mustJoin(body: string): Promise<void> {
    this.db.create(Note, { body });
  }

  /** Returns how many notes it can see: outside the caller's transaction, not the caller's uncommitted ones. */
  @Transactional({ propagation: NOT_SUPPORTED })
  async outside(body: string): Promise<number> {
    const visible = await this.db.count(Note);
    this.db.create(Note, { body });
    return visible;
  }

  @Transactional({ propagation: SUPPORTS })
  async supports(body: string): Promise<void> {
    this.db.create(Note, { body });
  }

  @Transactional({ propagation: NEVER })
  async never(body: string): Promise<void> {
    this.db.create(Note, { body });
  }
}

/** Writes through a repository only. */
@injectable()
class Archive {
  constructor(@inject(repositoryOf(Note)) private readonly notes: EntityRepository<NoteEntity>) {}

  @Transactional()
  async file(body: string): Promise<void> {
    this.notes.create({ body });
  }
}

/** The outer service, calling the others inside its own REQUIRED transaction. */
@injectable()
class Orders {
  constructor(
    @inject(Session) readonly unitOfWork: Session,
    @inject(Ledger) readonly ledger: Ledger,
    @inject(Archive) readonly archive: Archive,
  ) {}

  @Transactional()
  async inTransaction<T>(steps: (orders: Orders) => Promise<T>): Promise<T> {
    return steps(this);
  }

  stage(body: string): void {
    this.unitOfWork.create(Note, { body });
  }
}

type Scenario = (orders: Orders) => Promise<unknown>;
interface Outcome {
  value?: unknown;
  error?: string;
}

async function outcomeOf(scenario: Scenario, orders: () => Orders): Promise<Outcome> {
  try {
    return { value: await scenario(orders()) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Runs a scenario in a `withSession` job, or in an HTTP request sent with `fastify.inject`. */
type Runner = (scenario: Scenario) => Promise<Outcome>;

function jobRunner(container: Container): Runner {
  return (scenario) => withSession(container, () => outcomeOf(scenario, () => container.get(Orders)));
}

function httpRunner(http: FastifyInstance, scenarios: Map<string, Scenario>): Runner {
  return async (scenario) => {
    const id = String(scenarios.size);
    scenarios.set(id, scenario);
    const response = await http.inject({ method: 'POST', url: `/scenarios/${id}` });
    expect(response.statusCode).toBe(200);
    return response.json<Outcome>();
  };
}

describe('@Transactional() through injected services', () => {
  let db: IsolatedDatabase;
  let app: StartedContainer;
  let http: FastifyInstance;
  const scenarios = new Map<string, Scenario>();
  const runners: Record<string, Runner> = {};

  /** What is committed, as another connection sees it. */
  const committed = async () =>
    (await db.query<{ body: string }>('select body from note')).map((row) => row.body).sort();

  beforeAll(async () => {
    db = await testDatabase.create('transactional');
    app = await startContainer(db, { entities: [Note] });
    app.container.bind(Ledger).toSelf();
    app.container.bind(Archive).toSelf();
    app.container.bind(Orders).toSelf();
    http = Fastify();
    await http.register(registerSessionPerRequest, { container: app.container });
    http.post<{ Params: { id: string } }>('/scenarios/:id', (request) =>
      outcomeOf(scenarios.get(request.params.id) as Scenario, () => app.container.get(Orders)),
    );
    await http.ready();
    runners.withSession = jobRunner(app.container);
    runners['an HTTP request'] = httpRunner(http, scenarios);
  });

  afterAll(async () => {
    await http.close();
    await app.lifecycle.stop();
    await db.drop();
  });

  beforeEach(async () => {
    await db.query('delete from note');
  });

  describe.each(['withSession', 'an HTTP request'])('inside %s', (where) => {
    const run = (scenario: Scenario) => (runners[where] as Runner)(scenario);

    it('REQUIRED: inner methods join the outer transaction and commit with it', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          orders.stage('outer');
          await orders.ledger.record('ledger');
          await orders.archive.file('archive');
        }),
      );
      expect(outcome.error).toBeUndefined();
      expect(await committed()).toEqual(['archive', 'ledger', 'outer']);
    });

    it('REQUIRED: an outer failure rolls back what the inner methods wrote', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          await orders.ledger.record('ledger');
          await orders.archive.file('archive');
          throw new Planned('outer failed');
        }),
      );
      expect(outcome.error).toBe('outer failed');
      expect(await committed()).toEqual([]);
    });

    it('REQUIRED: an error thrown by an inner method rolls back the whole transaction', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          orders.stage('outer');
          await orders.ledger.record('ledger', true);
        }),
      );
      expect(outcome.error).toBe('record(ledger) failed');
      expect(await committed()).toEqual([]);
    });

    it('REQUIRED: an inner error its caller catches does not undo what the inner method staged', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          await orders.ledger.record('staged before the error', true).catch(() => undefined);
        }),
      );
      expect(outcome.error).toBeUndefined();
      expect(await committed()).toEqual(['staged before the error']);
    });

    it('REQUIRES_NEW commits independently of an outer rollback, and leaves the outer staged writes out', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          orders.stage('outer');
          await orders.ledger.audit('audit');
          throw new Planned('outer failed');
        }),
      );
      expect(outcome.error).toBe('outer failed');
      expect(await committed()).toEqual(['audit']);
    });

    it('REQUIRES_NEW: its own failure rolls back only its own writes', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          orders.stage('outer');
          await orders.ledger.audit('audit', true).catch(() => undefined);
        }),
      );
      expect(outcome.error).toBeUndefined();
      expect(await committed()).toEqual(['outer']);
    });

    it('NESTED: a failure rolls back to its savepoint only, keeping what the caller staged before it', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          orders.stage('before');
          await orders.ledger.attempt('dropped', true).catch(() => undefined);
          await orders.ledger.attempt('kept');
          orders.stage('after');
        }),
      );
      expect(outcome.error).toBeUndefined();
      expect(await committed()).toEqual(['after', 'before', 'kept']);
    });

    it('NESTED: an outer failure rolls back the released savepoint too', async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          await orders.ledger.attempt('nested');
          throw new Planned('outer failed');
        }),
      );
      expect(outcome.error).toBe('outer failed');
      expect(await committed()).toEqual([]);
    });

    it('MANDATORY throws without a transaction and joins one when there is', async () => {
      const alone = await run((orders) => orders.ledger.mustJoin('alone'));
      expect(alone.error).toMatch(/mandatory/i);
      const joined = await run((orders) =>
        orders.inTransaction(async () => {
          await orders.ledger.mustJoin('joined');
          throw new Planned('outer failed');
        }),
      );
      expect(joined.error).toBe('outer failed');
      expect(await committed()).toEqual([]);
    });

    it("NOT_SUPPORTED runs outside the caller's transaction: it neither sees nor shares its fate", async () => {
      const outcome = await run((orders) =>
        orders.inTransaction(async () => {
          orders.stage('outer');
          await orders.unitOfWork.flush();
          const visible = await orders.ledger.outside('outside');
          throw new Planned(`outer failed after NOT_SUPPORTED saw ${visible} note(s)`);
        }),
      );
      // The outer note was flushed, but not committed: invisible outside the transaction.
      expect(outcome.error).toBe('outer failed after NOT_SUPPORTED saw 0 note(s)');
      expect(await committed()).toEqual(['outside']);
    });

    it('SUPPORTS joins a transaction when there is one, and writes on its own when there is none', async () => {
      const joined = await run((orders) =>
        orders.inTransaction(async () => {
          await orders.ledger.supports('joined');
          throw new Planned('outer failed');
        }),
      );
      expect(joined.error).toBe('outer failed');
      const alone = await run((orders) => orders.ledger.supports('alone'));
      expect(alone.error).toBeUndefined();
      expect(await committed()).toEqual(['alone']);
    });

    it('NEVER throws inside a transaction and writes on its own outside one', async () => {
      const inside = await run((orders) => orders.inTransaction(() => orders.ledger.never('inside')));
      expect(inside.error).toMatch(/never/i);
      const outside = await run((orders) => orders.ledger.never('outside'));
      expect(outside.error).toBeUndefined();
      expect(await committed()).toEqual(['outside']);
    });
  });

  describe('outside any unit of work', () => {
    /** MikroORM's decorator finds a Session by itself only in a field named `em`. */
    @injectable()
    class Checkout {
      constructor(
        @inject(Session) readonly em: Session,
        @inject(Ledger) readonly ledger: Ledger,
      ) {}

      @Transactional()
      async place(fail: boolean): Promise<void> {
        this.em.create(Note, { body: 'checkout' });
        await this.ledger.record('ledger');
        if (fail) throw new Planned('checkout failed');
      }
    }

    beforeAll(() => {
      app.container.bind(Checkout).toSelf();
    });

    it('a Session in a field named em carries the transaction to the services it calls', async () => {
      await app.container.get(Checkout).place(false);
      expect(await committed()).toEqual(['checkout', 'ledger']);
      await expect(app.container.get(Checkout).place(true)).rejects.toThrow('checkout failed');
      expect(await committed()).toEqual(['checkout', 'ledger']);
    });

    it('a Session in any other field fails loudly instead of running without a transaction', async () => {
      await expect(app.container.get(Orders).inTransaction(async () => undefined)).rejects.toThrow(
        /@Transactional\(\) decorator can only be applied/,
      );
    });
  });
});
