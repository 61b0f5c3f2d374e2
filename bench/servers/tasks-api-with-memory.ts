import { addMemoryRoute } from './memory-route.js';
import { runTasksApi } from './tasks-api.js';

/** The Tasks API plus the bench-only memory route (run with `node --expose-gc`). */
await runTasksApi({ extend: addMemoryRoute });
