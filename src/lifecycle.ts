import type { Container } from 'inversify';
import type { LifecycleSettings } from './config.js';
import { connectWithRetry } from './connect.js';
import { InversifyMikroOrmError } from './errors.js';
import { watchForLeaks } from './leak-detector.js';
import { type Logger, stderrLogger } from './logger.js';
import type { Orm } from './orm.js';
import { nativePool, warmPool } from './pool.js';
import { type SchemaSyncOutcome, syncSchema } from './schema-sync.js';
import { validateScopes } from './scope-validation.js';
import { withTimeout } from './timeout.js';

export type LifecycleHook = () => void | Promise<void>;
export type LifecycleState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

interface NamedHook {
  name: string;
  run: LifecycleHook;
  timeoutMs?: number;
}

export interface StartOptions {
  /** The container this lifecycle came from: checked for singletons that would capture a Session. */
  container?: Container;
}

export interface StopHookOptions {
  /** Overrides DB_STOP_TIMEOUT_MS for this hook (an HTTP drain has its own budget). */
  timeoutMs?: number;
}

/**
 * Starts and stops the database side of an application, like the template's FastAPI lifespan:
 * connect (with retry), bring the schema up to date, warm the pool, run start hooks; on stop, run
 * stop hooks in reverse order, then close the ORM, each bounded by a timeout.
 */
export class AppLifecycle {
  readonly #startHooks: NamedHook[] = [];
  readonly #stopHooks: NamedHook[] = [];
  #state: LifecycleState = 'idle';
  #starting?: Promise<void>;
  #stopping?: Promise<void>;
  #log: Logger = stderrLogger;
  #schema?: SchemaSyncOutcome;
  #stopWatchingLeaks?: () => void;

  constructor(
    readonly orm: Orm,
    readonly settings: LifecycleSettings,
  ) {}

  get state(): LifecycleState {
    return this.#state;
  }

  /** What the schema step did on start: `unchanged`, `updated`, `already-updated`, or undefined when off. */
  get schemaOutcome(): SchemaSyncOutcome | undefined {
    return this.#schema;
  }

  /** Where warnings (retries, slow stop hooks, leaks) go; Fastify's `app.log` fits. */
  useLogger(log: Logger): this {
    this.#log = log;
    return this;
  }

  get log(): Logger {
    return this.#log;
  }

  /** Runs after the database is ready, in registration order. */
  onStart(name: string, run: LifecycleHook): this {
    this.#startHooks.push({ name, run });
    return this;
  }

  /** Runs on stop before the ORM closes, in reverse registration order (HTTP: stop accepting, drain). */
  onStop(name: string, run: LifecycleHook, options: StopHookOptions = {}): this {
    this.#stopHooks.push({ name, run, timeoutMs: options.timeoutMs });
    return this;
  }

  /**
   * Connects and prepares the database. Pass the container to have its scopes validated first
   * (Inversify gives a binding no handle on its container, so the lifecycle cannot find it itself).
   */
  start(options: StartOptions = {}): Promise<void> {
    if (this.#stopping && !this.#starting) {
      return Promise.reject(
        new InversifyMikroOrmError(
          'lifecycle',
          'AppLifecycle.start() was called after stop(); build a new container to start again.',
        ),
      );
    }
    this.#starting ??= this.#start(options.container);
    return this.#starting;
  }

  /** Idempotent: every call returns the same promise. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #start(container: Container | undefined): Promise<void> {
    this.#state = 'starting';
    try {
      if (container) validateScopes(container);
      const { embedded } = this.settings;
      if (embedded) {
        const endpoint = await embedded.start();
        this.#log.info(
          { host: endpoint.host, port: endpoint.port, dataDir: embedded.options.dataDir },
          'Embedded PostgreSQL started',
        );
      }
      await connectWithRetry(this.orm, this.settings.endpoint, this.settings.connectTimeoutMs, this.#log);
      if (this.settings.schemaUpdate === 'safe') {
        const began = performance.now();
        this.#schema = await syncSchema(this.orm);
        const ms = Math.round((performance.now() - began) * 100) / 100;
        this.#log.info({ outcome: this.#schema, ms }, `Schema ${this.#schema}`);
      }
      const pool = await nativePool(this.orm);
      await warmPool(pool, this.settings.pool.min, this.#log);
      this.#stopWatchingLeaks = watchForLeaks(pool, this.settings.leakWarnMs, () => this.#log);
      for (const hook of this.#startHooks) await hook.run();
      this.#state = 'running';
    } catch (error) {
      this.#stopping ??= this.#shutdown();
      await this.#stopping;
      throw error;
    }
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    await this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#state = 'stopping';
    for (const hook of [...this.#stopHooks].reverse()) {
      await this.#bounded(`stop hook "${hook.name}"`, async () => hook.run(), hook.timeoutMs);
    }
    this.#stopWatchingLeaks?.();
    await this.#bounded('orm.close()', () => this.orm.close());
    const { embedded } = this.settings;
    if (embedded) await this.#bounded('embedded PostgreSQL stop', () => embedded.stop());
    this.#state = 'stopped';
  }

  /** A hung step is abandoned after the stop timeout so it cannot keep the process alive. */
  async #bounded(what: string, step: () => Promise<void>, ms = this.settings.stopTimeoutMs): Promise<void> {
    try {
      await withTimeout(
        step(),
        ms,
        () =>
          new InversifyMikroOrmError(
            'lifecycle',
            `${what} did not finish within ${ms} ms; moving on (DB_STOP_TIMEOUT_MS).`,
          ),
      );
    } catch (error) {
      this.#log.warn({ error: (error as Error).message }, `${what} failed during stop`);
    }
  }
}
