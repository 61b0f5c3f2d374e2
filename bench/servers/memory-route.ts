import v8 from 'node:v8';
import type { FastifyInstance } from 'fastify';

/** Where the memory benchmark reads a server's own figures (the Tasks API has no such route). */
export const MEMORY_ROUTE = '/__bench/memory';

export interface MemoryReport extends NodeJS.MemoryUsage {
  /** Memory V8 allocated with malloc outside its heap (compiler zones and the like). */
  mallocedMemory: number;
  /** Per V8 heap space: bytes in live objects, and bytes of the space resident in memory. */
  heapSpaces: Record<string, { used: number; physical: number }>;
}

/**
 * A route that collects garbage and returns `process.memoryUsage()` and V8's heap figures. The
 * process must run with `node --expose-gc`: what is still on the heap after a full collection is
 * what the service really keeps (identity maps of finished requests must be gone).
 */
export function addMemoryRoute(app: FastifyInstance): void {
  app.get(MEMORY_ROUTE, async (): Promise<MemoryReport> => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('start the server with --expose-gc');
    // Twice: objects with finalizers or weak references need a second pass to go.
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const heapSpaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((space) => [space.space_name, { used: space.space_used_size, physical: space.physical_space_size }]),
    );
    return { ...process.memoryUsage(), mallocedMemory: v8.getHeapStatistics().malloced_memory, heapSpaces };
  });
}
