/**
 * A PostgreSQL server this process runs itself, such as the `EmbeddedDatabase` of
 * `inversify-mikro-orm/embedded`: `AppLifecycle.start()` starts it before connecting and `stop()`
 * stops it after the ORM closed. The core only knows this shape, so it never loads a server by itself.
 */
export interface LocalDatabaseServer {
  readonly options: { readonly dataDir: string };
  start(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
  /** Lets Node exit while the server still runs (one-shot tools such as the MikroORM CLI). */
  unref?(): void;
}
