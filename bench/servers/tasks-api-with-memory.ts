import { addMemoryRoute } from './memory-route.js';
import { runService } from './service.js';

/** The Tasks API plus the bench-only memory route (run with `node --expose-gc`). */
await runService({ extend: addMemoryRoute });
