import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serverConnections } from './helpers/database-container.js';
import { postTask } from './helpers/http-outcome.js';
import { ServiceProcess } from './helpers/service-process.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { type IsolatedDatabase, testDatabase, uniqueApplicationName } from './helpers/test-database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw TCP connection to the service, to send a request in pieces and see exactly how it ends. */
class RawConnection {
  received = '';
  /** How the server ended the connection: a clean close (FIN) or a reset, and when. */
  readonly closed: Promise<{ how: 'closed' | 'reset'; at: number }>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('utf8');
    });
    this.closed = new Promise((resolve) => {
      socket.on('error', () => resolve({ how: 'reset', at: Date.now() }));
      socket.on('end', () => {
        resolve({ how: 'closed', at: Date.now() });
        socket.end();
      });
    });
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const postHead = (body: string) =>
  `POST /tasks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;

describe('the drain after SIGTERM', () => {
  let db: IsolatedDatabase;
  let proxy: TcpProxy;
  let service: ServiceProcess | undefined;
  const connections: RawConnection[] = [];

  beforeAll(async () => {
    db = await testDatabase.create('drain');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.destroy();
    proxy.resume();
    await service?.kill();
    service = undefined;
  });

  afterAll(async () => {
    await proxy.close();
    await db.drop();
  });

  const start = async (applicationName: string, env: Record<string, string>) => {
    const url = new URL(proxy.urlFor(db.url));
    url.searchParams.set('application_name', applicationName);
    service = await ServiceProcess.start({ DATABASE_URL: url.href, ...env });
    return service;
  };

  const open = async (running: ServiceProcess) => {
    const connection = await RawConnection.open(running.url);
    connections.push(connection);
    return connection;
  };

  /** Sends SIGTERM and waits until the drain has begun; returns when the signal was sent. */
  const terminate = async (running: ServiceProcess) => {
    const signalledAt = Date.now();
    running.signal('SIGTERM');
    await running.waitFor((line) => String(line.msg).startsWith('Shutting down'));
    return signalledAt;
  };

  it('cuts a request still in flight at SHUTDOWN_TIMEOUT_MS, then exits 0 leaving no database connection', async () => {
    const applicationName = uniqueApplicationName('drain-cut');
    const running = await start(applicationName, { SHUTDOWN_TIMEOUT_MS: '1500', SHUTDOWN_GRACE_MS: '100' });
    proxy.stall(); // the handler now waits on the database for as long as the test wants
    const inFlight = fetch(`${running.url}/tasks/1`).then(
      (response) => `answered ${response.status}`,
      () => 'cut',
    );
    await running.waitFor((line) => line.msg === 'incoming request');
    const signalledAt = await terminate(running);

    expect(await inFlight).toBe('cut');
    const cutAfterMs = Date.now() - signalledAt;
    // Cut at the timeout: not at the grace (100 ms), nor only when the process exits (over 10 s later).
    expect(cutAfterMs).toBeGreaterThanOrEqual(1400);
    expect(cutAfterMs).toBeLessThan(4000);

    proxy.resume(); // the database answers the abandoned query late; the pool then closes normally
    expect(await running.exited).toBe(0);
    expect(running.count((line) => String(line.msg).includes('failed during stop'))).toBe(0);
    // A backend ends a moment after its client's socket closes.
    await expect.poll(() => serverConnections(db, applicationName), { timeout: 3000 }).toBe(0);
  });

  it('answers a request whose headers arrived before SIGTERM and whose body completes after the grace', async () => {
    const running = await start(uniqueApplicationName('drain-body'), { SHUTDOWN_GRACE_MS: '100' });
    const body = JSON.stringify({ title: 'slow upload' });
    const connection = await open(running);
    connection.write(postHead(body) + body.slice(0, 5));
    await running.waitFor((line) => line.msg === 'incoming request');
    await terminate(running);
    await sleep(400); // well past the grace: only connections with nothing received are closed by now

    connection.write(body.slice(5));
    expect((await connection.closed).how).toBe('closed');
    expect(connection.received).toMatch(/^HTTP\/1\.1 201 /);
    expect(connection.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(await running.exited).toBe(0);
    expect(await db.query("select count(*)::int as n from task where title = 'slow upload'")).toEqual([{ n: 1 }]);
  });

  it('answers 503 with Retry-After to a request whose first bytes arrived before SIGTERM and the rest after the grace', async () => {
    const running = await start(uniqueApplicationName('drain-partial'), { SHUTDOWN_GRACE_MS: '100' });
    const body = JSON.stringify({ title: 'half a request' });
    const head = postHead(body);
    const connection = await open(running);
    connection.write(head.slice(0, 20)); // "POST /tasks HTTP/1.1": the server has begun reading a request
    await sleep(200);
    await terminate(running);
    await sleep(400);

    connection.write(head.slice(20) + body);
    expect((await connection.closed).how).toBe('closed');
    expect(connection.received).toMatch(/^HTTP\/1\.1 503 /);
    expect(connection.received).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(connection.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(connection.received).toContain('"error":"shutting_down"');
    expect(await running.exited).toBe(0);
    expect(await db.query("select count(*)::int as n from task where title = 'half a request'")).toEqual([{ n: 0 }]);
  });

  it('answers a request that reached a silent connection while the process was frozen past the grace: read late, never reset', async () => {
    const running = await start(uniqueApplicationName('drain-frozen'), { SHUTDOWN_GRACE_MS: '500' });
    const body = JSON.stringify({ title: 'sent while frozen' });
    const connection = await open(running);
    await terminate(running);
    // Freezes the event loop with the grace timer pending, as a long GC pause or a starved CPU would:
    // the request waits in the kernel, unread, until the process runs again, the grace long expired.
    running.signal('SIGSTOP');
    try {
      await sleep(50);
      connection.write(postHead(body) + body);
      await sleep(800);
    } finally {
      running.signal('SIGCONT');
    }

    expect(await connection.closed).toMatchObject({ how: 'closed' });
    expect(connection.received).toMatch(/^HTTP\/1\.1 503 /);
    expect(connection.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(await running.exited).toBe(0);
    expect(await db.query("select count(*)::int as n from task where title = 'sent while frozen'")).toEqual([{ n: 0 }]);
  });

  it('answers every connection waiting in the accept queue at SIGTERM, even when accepting them outlasts the grace', async () => {
    const backlog = 300;
    const running = await start(uniqueApplicationName('drain-backlog'), { SHUTDOWN_GRACE_MS: '50' });
    // While the process is frozen the kernel completes every handshake and queues the connections,
    // with their requests; Node then accepts one of them per turn of its event loop.
    running.signal('SIGSTOP');
    let outcomes: ReturnType<typeof postTask>[] = [];
    try {
      await sleep(50);
      outcomes = Array.from({ length: backlog }, (_, i) => postTask(running.url, `queued ${i}`));
      await sleep(300);
      running.signal('SIGTERM');
    } finally {
      running.signal('SIGCONT');
    }

    const answered = await Promise.all(outcomes);
    expect(answered.filter(({ kind }) => kind !== 'answered')).toEqual([]);
    expect(await running.exited).toBe(0);
    const created = answered.filter((outcome) => outcome.kind === 'answered' && outcome.status === 201).length;
    expect(await db.query("select count(*)::int as n from task where title like 'queued %'")).toEqual([{ n: created }]);
  });

  it('closes a connection that sent nothing once SHUTDOWN_GRACE_MS has passed, cleanly, and exits', async () => {
    const running = await start(uniqueApplicationName('drain-idle'), { SHUTDOWN_GRACE_MS: '300' });
    const connection = await open(running);
    await sleep(100);
    const signalledAt = await terminate(running);

    const { how, at } = await connection.closed;
    expect(how).toBe('closed');
    expect(at - signalledAt).toBeGreaterThanOrEqual(300); // kept open for the grace, not closed at once
    expect(at - signalledAt).toBeLessThan(2000); // far below SHUTDOWN_TIMEOUT_MS (10 s)
    expect(connection.received).toBe('');
    expect(await running.exited).toBe(0);
  });
});
