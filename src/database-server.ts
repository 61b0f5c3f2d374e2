/**
 * A PostgreSQL server this process runs itself, such as the `EmbeddedDatabase` of
 * `inversify-mikro-orm/embedded`, given to `loadDatabaseConfig` as `lifecycle.embedded`:
 * `AppLifecycle.start()` starts it before connecting and `stop()` stops it after the ORM closed.
 * The core only knows this shape, so it never loads or starts a server by itself.
 */
export interface LocalDatabaseServer {
  readonly options: { readonly dataDir: string; readonly database: string };
  start(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
  /** Wraps `pg` options so the endpoint and credentials are read at the first connect, after `start()`. */
  driverOptions(base: Record<string, unknown>): () => Record<string, unknown>;
  /** Lets Node exit while the server still runs (one-shot tools such as the MikroORM CLI). */
  unref?(): void;
}
