import type { Container } from 'inversify';
import type { LifecycleSettings } from './config.js';
import { connectWithRetry } from './connect.js';
import { InversifyMikroOrmError } from './errors.js';
import { watchForLeaks } from './leak-detector.js';
import { type Logger, stderrLogger } from './logger.js';
import { runMigrations } from './migrations.js';
import type { Orm } from './orm.js';
import { nativePool, warmPool } from './pool.js';
import { logReplicasTo } from './replica-health.js';
import { type SchemaSyncOutcome, syncSchema } from './schema-sync.js';
import { validateScopes } from './scope-validation.js';
import { abortable, withTimeout } from './timeout.js';

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
  /** Aborted by a stop() during start(): ends the connect retry and the schema update. */
  readonly #abort = new AbortController();
  /** What start() is doing, for the error a stop() during it gives. */
  #step = 'validating scopes';

  constructor(
    readonly orm: Orm,
    readonly settings: LifecycleSettings,
  ) {
    logReplicasTo(orm, () => this.#log);
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /**
   * What the schema step did on start: `unchanged`, `updated`, `already-updated` (safe mode: another
   * instance applied the same update while this one waited for the lock), or undefined when off.
   */
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
   * A second call while starting returns the same promise; a call after stop() (or after a failed
   * start) rejects: a stopped lifecycle cannot be restarted.
   */
  start(options: StartOptions = {}): Promise<void> {
    if (this.#stopping) {
      return Promise.reject(
        new InversifyMikroOrmError(
          'lifecycle',
          'AppLifecycle.start() was called after stop() (or after a failed start): a stopped AppLifecycle cannot be restarted. Build a new container to start again.',
        ),
      );
    }
    this.#starting ??= this.#start(options.container);
    return this.#starting;
  }

  /**
   * Idempotent: every call returns the same promise. During start(), it aborts the boot (the
   * connect retry, the schema update) so that start() rejects at once, then shuts down.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #start(container: Container | undefined): Promise<void> {
    this.#state = 'starting';
    const { signal } = this.#abort;
    try {
      await this.#boot(container, signal);
      // stop() came during a step that cannot be interrupted (a start hook): never report running.
      signal.throwIfAborted();
      this.#state = 'running';
    } catch (error) {
      // stop() aborted the boot and shuts down itself; waiting for it here would wait for ourselves.
      if (signal.aborted) throw signal.reason;
      this.#stopping ??= this.#shutdown();
      await this.#stopping;
      throw error;
    }
  }

  async #boot(container: Container | undefined, signal: AbortSignal): Promise<void> {
    if (container) validateScopes(container);
    const { embedded } = this.settings;
    if (embedded) {
      // Not interrupted: a server abandoned halfway through its boot could not be stopped.
      this.#step = 'starting the embedded PostgreSQL';
      const endpoint = await embedded.start();
      this.#log.info(
        { host: endpoint.host, port: endpoint.port, dataDir: embedded.options.dataDir },
        'Embedded PostgreSQL started',
      );
    }
    this.#step = `connecting to ${this.settings.endpoint}`;
    await connectWithRetry(this.orm, this.settings.endpoint, this.settings.connectTimeoutMs, this.#log, signal);
    if (this.settings.schemaUpdate !== 'off') await this.#updateSchema(this.settings.schemaUpdate, signal);
    this.#step = 'warming the pool';
    const pool = await abortable(nativePool(this.orm), signal);
    await abortable(warmPool(pool, this.settings.pool.min, this.#log), signal);
    this.#stopWatchingLeaks = watchForLeaks(pool, this.settings.leakWarnMs, () => this.#log);
    for (const hook of this.#startHooks) {
      signal.throwIfAborted();
      this.#step = `start hook "${hook.name}"`;
      await hook.run();
    }
  }

  async #updateSchema(mode: 'safe' | 'migrate', signal: AbortSignal): Promise<void> {
    const began = performance.now();
    let migrations: string[] | undefined;
    if (mode === 'migrate') {
      this.#step = 'running migrations';
      const run = await runMigrations(this.orm, signal);
      this.#schema = run.outcome;
      migrations = run.applied;
    } else {
      this.#step = 'updating the schema';
      this.#schema = await syncSchema(this.orm, signal);
    }
    const ms = Math.round((performance.now() - began) * 100) / 100;
    this.#log.info({ outcome: this.#schema, mode, migrations, ms }, `Schema ${this.#schema}`);
  }

  async #stop(): Promise<void> {
    const starting = this.#starting;
    if (starting && this.#state === 'starting') {
      this.#abort.abort(
        new InversifyMikroOrmError(
          'lifecycle',
          `AppLifecycle.stop() was called while start() was running: stopped while starting (${this.#step}), before the application was ready.`,
        ),
      );
      // start() rejects at once unless a step cannot be interrupted (the embedded server's boot, a
      // start hook): that one is waited for, within the stop timeout, before shutting down.
      await this.#bounded('start()', () => starting.then(noop, noop));
    }
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

const noop = () => undefined;
