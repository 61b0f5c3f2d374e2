import 'reflect-metadata';
import { generatedEntities } from '../generated-entities.js';
import { runTasksApi } from './tasks-api.js';

/** The Tasks API with BENCH_ENTITIES entities in all (default 200): Task plus generated ones. */
const total = Number(process.env.BENCH_ENTITIES || 200);

await runTasksApi({ extraEntities: generatedEntities(total - 1) });
