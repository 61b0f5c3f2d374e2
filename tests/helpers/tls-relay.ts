import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PostgreSQL's SSLRequest: length 8, then the code 80877103. */
const SSL_REQUEST_LENGTH = 8;

/**
 * A man in the middle for PostgreSQL: it ends the client's TLS with a certificate of its own and
 * opens a second TLS connection to the server, relaying everything in between unchanged (a
 * TLS-terminating proxy does the same). A client that does not check certificates cannot tell;
 * a SCRAM login bound to its TLS connection (SCRAM-SHA-256-PLUS) carries the hash of the relay's
 * certificate, which the server rejects.
 */
export class TlsRelay {
  readonly #sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TlsRelay> {
    const dir = mkdtempSync(path.join(tmpdir(), 'tls-relay-'));
    const key = path.join(dir, 'relay.key');
    const cert = path.join(dir, 'relay.crt');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    const identity = { key: readFileSync(key), cert: readFileSync(cert) };
    let relay: TlsRelay | undefined;
    const server = net.createServer((client) => relay?.accept(client, target, identity));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new TlsRelay(server, dir, (server.address() as net.AddressInfo).port);
    return relay;
  }

  /** `url` with its host and port replaced by this relay's. */
  urlFor(url: string): string {
    const relayed = new URL(url);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(this.port);
    return relayed.href;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private accept(
    client: net.Socket,
    target: { host: string; port: number },
    identity: { key: Buffer; cert: Buffer },
  ): void {
    const upstream = net.connect(target.port, target.host);
    const track = (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => undefined);
    };
    track(client);
    track(upstream);
    client.once('data', (sslRequest: Buffer) => {
      if (sslRequest.length !== SSL_REQUEST_LENGTH) return client.destroy();
      upstream.write(sslRequest);
      upstream.once('data', (answer: Buffer) => {
        if (answer.toString() !== 'S') return client.destroy();
        const toServer = tls.connect({ socket: upstream, rejectUnauthorized: false });
        client.write('S');
        const toClient = new tls.TLSSocket(client, { isServer: true, ...identity });
        for (const socket of [toServer, toClient]) track(socket);
        toClient.pipe(toServer);
        toServer.pipe(toClient);
      });
    });
  }
}
