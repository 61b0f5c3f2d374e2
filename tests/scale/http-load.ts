import { randomUUID } from 'node:crypto';
import http from 'node:http';

export interface Sent {
  kind: 'create' | 'read' | 'list';
  /** Whether the request went over a kept-alive connection or a connection of its own. */
  connection: 'keep-alive' | 'new';
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
  ok: boolean;
  /** What was wrong, for a request that is not ok. */
  problem?: string;
  startedAt: number;
  endedAt: number;
  /** The unique title of a create. */
  title?: string;
}

export interface LoadOptions {
  /** Loops sending one request at a time over one kept-alive connection each. */
  keepAliveLoops: number;
  /** Loops opening a new connection for every request. */
  newConnectionLoops: number;
  /** Stop sending after this many requests in all, whatever happens. */
  maxRequests: number;
  /** A request unanswered after this long counts as dropped. */
  requestTimeoutMs: number;
}

interface Answer {
  status: number;
  body: string;
}

/**
 * Steady closed-loop load through one base URL: creates of uniquely titled tasks (so a duplicate or
 * a lost acknowledged write shows in the database), reads of tasks this load created, and lists.
 * Every answer is checked, not only its status.
 */
export class HttpLoad {
  readonly sent: Sent[] = [];
  #running = false;
  #loops: Promise<void>[] = [];
  readonly #created: number[] = [];
  readonly #agents: http.Agent[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly options: LoadOptions,
  ) {}

  start(): void {
    this.#running = true;
    const keepAlive = Array.from({ length: this.options.keepAliveLoops }, () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.#agents.push(agent);
      return this.#loop('keep-alive', agent);
    });
    const fresh = Array.from({ length: this.options.newConnectionLoops }, () => this.#loop('new', false));
    this.#loops = [...keepAlive, ...fresh];
  }

  async stop(): Promise<Sent[]> {
    this.#running = false;
    await Promise.all(this.#loops);
    for (const agent of this.#agents) agent.destroy();
    return this.sent;
  }

  async #loop(connection: Sent['connection'], agent: http.Agent | false): Promise<void> {
    let turn = 0;
    while (this.#running && this.sent.length < this.options.maxRequests) {
      turn += 1;
      // Two creates, two reads and a list in every five requests (reads wait for something to read).
      const slot = turn % 5;
      const kind = slot < 2 || this.#created.length === 0 ? 'create' : slot < 4 ? 'read' : 'list';
      this.sent.push(await this.#send(kind, connection, agent));
    }
  }

  async #send(kind: Sent['kind'], connection: Sent['connection'], agent: http.Agent | false): Promise<Sent> {
    const startedAt = Date.now();
    const title = kind === 'create' ? `scale ${randomUUID()}` : undefined;
    const id = this.#created[Math.floor(Math.random() * this.#created.length)];
    let problem: string | undefined;
    let status = 0;
    try {
      const answer =
        kind === 'create'
          ? await this.#request('POST', '/tasks', agent, JSON.stringify({ title }))
          : await this.#request('GET', kind === 'read' ? `/tasks/${id}` : '/tasks?limit=5', agent);
      status = answer.status;
      problem = this.#check(kind, answer, { title, id });
    } catch (error) {
      problem = (error as Error).message;
    }
    return { kind, connection, status, ok: !problem, problem, startedAt, endedAt: Date.now(), title };
  }

  /** Undefined when the answer is the one expected; otherwise what is wrong with it. */
  #check(kind: Sent['kind'], { status, body }: Answer, sent: { title?: string; id?: number }): string | undefined {
    const expected = kind === 'create' ? 201 : 200;
    if (status !== expected) return `${status} ${body.slice(0, 200)}`;
    const parsed = JSON.parse(body) as { id?: number; title?: string; items?: unknown[] };
    if (kind === 'create') {
      if (parsed.title !== sent.title || typeof parsed.id !== 'number') return `unexpected body ${body.slice(0, 200)}`;
      this.#created.push(parsed.id);
    }
    if (kind === 'read' && parsed.id !== sent.id) return `asked for ${sent.id}, got ${body.slice(0, 200)}`;
    if (kind === 'list' && !Array.isArray(parsed.items)) return `unexpected body ${body.slice(0, 200)}`;
    return undefined;
  }

  #request(method: string, path: string, agent: http.Agent | false, body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        `${this.baseUrl}${path}`,
        {
          method,
          agent,
          headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
          timeout: this.options.requestTimeoutMs,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.once('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
          response.once('error', reject);
        },
      );
      request.once('timeout', () => request.destroy(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)));
      request.once('error', reject);
      request.end(body);
    });
  }
}

/** The p-th percentile (0 to 100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
