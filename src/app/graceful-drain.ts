import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AppLifecycle } from 'inversify-mikro-orm';
import type { ServiceSettings } from './service-settings.js';

export interface DrainOptions {
  /**
   * How long the server goes on serving as usual (readiness already 503) before the drain begins,
   * so a load balancer's health checks take it out of rotation before the listener closes.
   */
  delayMs: number;
  /** How long a connection with no request in progress may stay open once the drain begins. */
  graceMs: number;
  /** How long in-flight requests get before every connection is cut. */
  timeoutMs: number;
}

/** Seconds a client refused during the drain should wait before retrying (on another instance). */
const RETRY_AFTER_SECONDS = '1';

/** One server's drain: whether it has begun, and every connection it must see closed. */
class Drain {
  draining = false;
  readonly #sockets = new Set<net.Socket>();

  constructor(readonly app: FastifyInstance) {
    app.server.on('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /**
   * Closes the connections with no request in progress: Node's `closeIdleConnections()` closes those
   * between two requests, but counts a connection that has sent nothing yet as busy (its headers
   * timeout is running), so those are closed here. A connection that has received any byte of a
   * request is left to finish it.
   *
   * Only after one more turn of the event loop, whose poll reads every socket with data waiting: when
   * the grace ends while the loop was busy (or the process paused), a request may sit in the kernel,
   * sent in time but not read yet, and destroying its socket unread would make the kernel answer
   * with a reset instead of the 503 the client is owed.
   */
  async closeIdle(): Promise<void> {
    await nextTurn();
    this.app.server.closeIdleConnections();
    for (const socket of this.#sockets) if (socket.bytesRead === 0) socket.destroy();
  }
}

/** Resolves after the event loop has polled its sockets once more. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const drains = new WeakMap<FastifyInstance, Drain>();

/**
 * Call before the server listens. Once the drain begins (`closeGracefully`, or `app.close()`), a
 * request that arrives is answered 503 without running, so its client knows it was not applied and
 * may retry; and every response closes its connection, so keep-alive connections end with their
 * last answer instead of holding the drain open.
 */
export function prepareGracefulDrain(app: FastifyInstance): void {
  const drain = new Drain(app);
  drains.set(app, drain);
  app.addHook('preClose', (done) => {
    drain.draining = true;
    done();
  });
  // Register before the session hook, so a refused request never forks a unit of work.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!drain.draining) return done();
    reply
      .status(503)
      .headers({ 'retry-after': RETRY_AFTER_SECONDS })
      .send({ error: 'shutting_down', message: 'The service is shutting down; retry shortly.' });
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (drain.draining) reply.header('connection', 'close');
    done(null, payload);
  });
}

/**
 * After `delayMs` of serving as usual, stops accepting connections (once those already queued are
 * accepted) and drains the open ones: every request already read gets its real answer and every
 * request that arrives during the drain a 503; after `graceMs` connections with no
 * request in progress are closed, and at `timeoutMs` whatever is left is cut, so a stuck client
 * cannot hold shutdown open. Then closes the Fastify instance.
 *
 * Node's `http.Server.close()` (which `app.close()` calls) would at once destroy every connection
 * between two requests, also one whose next request is still unread in the socket: its client would
 * see a reset, never knowing whether that request was applied. So the listener is closed with
 * `net.Server`'s own `close()`, which only stops accepting, and idle connections are closed only
 * after the grace, by when whatever their clients sent before the drain has been read.
 */
export async function closeGracefully(
  app: FastifyInstance,
  { delayMs, graceMs, timeoutMs }: DrainOptions,
): Promise<void> {
  const drain = drains.get(app);
  if (!drain) throw new Error('closeGracefully needs prepareGracefulDrain(app) before the server listens');
  if (delayMs > 0) {
    // A balancer still sending here would otherwise meet 503s, then a closed port.
    app.log.info({ delayMs }, 'Readiness is 503; serving on for SHUTDOWN_DELAY_MS before draining');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  drain.draining = true;
  const server = app.server;
  const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    await acceptQueuedConnections(server, timeoutMs);
    // Its callback runs once the last connection has closed (at once if the server was not listening).
    const drained = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    const grace = setTimeout(() => void drain.closeIdle(), graceMs);
    await drained.finally(() => clearTimeout(grace));
  } finally {
    clearTimeout(cut);
  }
  await app.close();
}

/**
 * Closing a listening socket makes the kernel reset every connection still in its accept queue:
 * connections their clients already count as open, whose requests may be sent. Node (24) accepts
 * one queued connection per turn of the event loop, so the listener stays open until a full turn
 * accepts nothing, and is closed right after. A burst of connections can take many turns, each as
 * long as the work it polls, so the bound is the shutdown timeout, not the grace: only clients that
 * keep connecting faster than one per turn hold the listener open that long (each is answered 503).
 */
async function acceptQueuedConnections(server: net.Server, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  let accepted = 0;
  const count = () => {
    accepted += 1;
  };
  server.on('connection', count);
  try {
    // The current turn may have polled before the drain began; only the turns after it count.
    await nextTurn();
    let before: number;
    do {
      before = accepted;
      await nextTurn();
    } while (accepted !== before && Date.now() < deadline);
  } finally {
    server.off('connection', count);
  }
}

/**
 * Closes the server gracefully when the lifecycle stops, with the drain the settings describe. The
 * lifecycle's own bound is a backstop; closeGracefully cuts connections at the drain timeout.
 */
export function closeGracefullyOnStop(lifecycle: AppLifecycle, app: FastifyInstance, settings: ServiceSettings): void {
  const drain = {
    delayMs: settings.shutdownDelayMs,
    graceMs: settings.shutdownGraceMs,
    timeoutMs: settings.shutdownTimeoutMs,
  };
  lifecycle.onStop('http server', () => closeGracefully(app, drain), {
    timeoutMs: settings.shutdownDelayMs + settings.shutdownTimeoutMs + 1000,
  });
}
