import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  frozen?: boolean;
}

/**
 * A TCP proxy between the service and PostgreSQL that injects real network faults: it can cut
 * every connection, refuse new ones, stall traffic (held, not lost), freeze the open connections
 * for good (half-open) or delay every chunk.
 */
export class TcpProxy {
  readonly #pairs = new Set<Pair>();
  readonly #held: Array<() => void> = [];
  #stalled = false;
  #refusing = false;
  #delayMs = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** Rewrites a postgres URL so it goes through this proxy. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.href;
  }

  get connectionCount(): number {
    return this.#pairs.size;
  }

  /** Drops every open connection at once, as a crashed server or a broken network would. */
  cutAll(): void {
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** New connections are closed as soon as they arrive (the server is "down"). */
  refuse(refusing: boolean): void {
    this.#refusing = refusing;
  }

  /** Holds all traffic in both directions until `resume()`; nothing is lost. */
  stall(): void {
    this.#stalled = true;
  }

  resume(): void {
    this.#stalled = false;
    for (const release of this.#held.splice(0)) release();
  }

  /**
   * Freezes every open connection for good: both sockets stay open but nothing flows either way,
   * not even a close, as after a dropped NAT entry or with a suspended peer. New connections are
   * not affected. Returns how many connections were frozen.
   */
  freezeAll(): number {
    for (const pair of this.#pairs) {
      pair.frozen = true;
      pair.client.pause();
      pair.upstream.pause();
    }
    return this.#pairs.size;
  }

  /** Delays every chunk by `ms` (0 turns it off). */
  delay(ms: number): void {
    this.#delayMs = ms;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    const forget = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (chunk) => this.forward(() => pair.frozen || to.write(chunk)));
      // A close is traffic too: while stalled, it reaches the other side after the data sent before it.
      from.on('error', () => this.forward(forget));
      from.on('close', () => this.forward(forget));
    }
  }

  private forward(write: () => void): void {
    const send = this.#delayMs > 0 ? () => setTimeout(write, this.#delayMs) : write;
    if (this.#stalled) this.#held.push(send);
    else send();
  }
}
