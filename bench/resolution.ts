import 'reflect-metadata';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { Container } from 'inversify';
import { databaseModule, loadDatabaseConfig, type Session } from 'inversify-mikro-orm';
import { TaskSchema } from '../src/app/task.entity.js';
import { TaskService } from '../src/app/task.service.js';
import { TasksController } from '../src/app/tasks.controller.js';
import { tasksModule } from '../src/app/tasks-module.js';
import { median, round } from './stats.js';

/**
 * Item 1, in its own process (started by run.ts): what `container.get(TasksController)` costs
 * over building the same object graph by hand.
 *
 * The baseline is not a bare `orm.em.fork()` alone but the fork plus `em.getRepository(Task)`,
 * `new TaskService(repository, em)` and `new TasksController(service)`: the container does all
 * of it, so comparing it with the fork alone would charge the rest to the binding. Measured
 * twice: outside any request (the Session binding forks) and inside a RequestContext (as in
 * HTTP, where the Session is the request's fork and nothing is forked).
 */
export interface ResolutionFigures {
  iterations: number;
  rounds: number;
  /** Median ns per operation. */
  containerGetNs: number;
  handWiredNs: number;
  /** Median over rounds of (container - hand-wired), the cost of the binding. */
  bindingCostNs: number;
  inRequest: { containerGetNs: number; handWiredNs: number; bindingCostNs: number };
}

const [iterations = 200_000, rounds = 7] = (process.argv[2] ?? '').split(',').map(Number);

const container = new Container();
// No connection is needed: MikroORM connects lazily and forking does not touch the database.
const config = loadDatabaseConfig(
  { entities: [TaskSchema] },
  { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', DB_SCHEMA_UPDATE: 'off' },
);
container.load(databaseModule(config), tasksModule);
const orm = container.get(MikroORM);

/** ns per call of `fn`; the result is kept in a sink so the JIT cannot drop the work. */
let sink: unknown;
function timePerOp(fn: () => unknown): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = fn();
  return Number(process.hrtime.bigint() - started) / iterations;
}

const containerGet = () => container.get(TasksController);
const handWired = () => {
  const em = orm.em.fork();
  return new TasksController(new TaskService(em.getRepository(TaskSchema), em));
};
const handWiredInRequest = () => {
  const em = RequestContext.getEntityManager() as Session;
  return new TasksController(new TaskService(em.getRepository(TaskSchema), em));
};
const inRequest = (fn: () => unknown) => RequestContext.create(orm.em, () => timePerOp(fn));

const samples = { get: [] as number[], hand: [] as number[], getIn: [] as number[], handIn: [] as number[] };
// Round 0 only warms the JIT; then A B A B ... so drift on the machine hits both sides alike.
for (let r = 0; r <= rounds; r++) {
  const get = timePerOp(containerGet);
  const hand = timePerOp(handWired);
  const getIn = inRequest(containerGet);
  const handIn = inRequest(handWiredInRequest);
  if (r === 0) continue;
  samples.get.push(get);
  samples.hand.push(hand);
  samples.getIn.push(getIn);
  samples.handIn.push(handIn);
}
const diff = (a: number[], b: number[]) => median(a.map((value, i) => value - (b[i] as number)));
const figures: ResolutionFigures = {
  iterations,
  rounds,
  containerGetNs: round(median(samples.get), 1),
  handWiredNs: round(median(samples.hand), 1),
  bindingCostNs: round(diff(samples.get, samples.hand), 1),
  inRequest: {
    containerGetNs: round(median(samples.getIn), 1),
    handWiredNs: round(median(samples.handIn), 1),
    bindingCostNs: round(diff(samples.getIn, samples.handIn), 1),
  },
};
if (!(sink instanceof TasksController)) throw new Error('resolution produced no controller');
process.stdout.write(`${JSON.stringify(figures)}\n`);
