import 'reflect-metadata';
import { runService } from '../../src/app/service.js';
import { generatedEntities } from '../generated-entities.js';

/** The Tasks API with BENCH_ENTITIES entities in all (default 200): Task plus generated ones. */
const total = Number(process.env.BENCH_ENTITIES || 200);

await runService({ extraEntities: generatedEntities(total - 1) });
