/** Where the memory benchmark reads the server's own figures (the Tasks API has no such route). */
export const MEMORY_ROUTE = '/__bench/memory';
