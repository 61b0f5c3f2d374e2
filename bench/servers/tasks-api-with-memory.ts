import 'reflect-metadata';
import { runService } from '../../src/app/service.js';
import { addMemoryRoute } from './memory-route.js';

/** The Tasks API plus the bench-only memory route (run with `node --expose-gc`). */
await runService({ extend: addMemoryRoute });
