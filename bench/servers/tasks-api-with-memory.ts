import { MEMORY_ROUTE } from './memory-route.js';
import { runService } from './service.js';

/**
 * The Tasks API plus one bench-only route that collects garbage and returns
 * `process.memoryUsage()`. Run with `node --expose-gc`: what is still on the heap after a full
 * collection is what the service really keeps (identity maps of finished requests must be gone).
 */
await runService({
  extend: (app) => {
    app.get(MEMORY_ROUTE, async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the server with --expose-gc');
      // Twice: objects with finalizers or weak references need a second pass to go.
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      return process.memoryUsage();
    });
  },
});
