import { randomUUID } from 'node:crypto';

export interface Outcome {
  kind: 'read' | 'write';
  /** HTTP status, or 0 when the request itself failed (connection refused, reset, timeout). */
  status: number;
  body: string;
  startedAt: number;
  endedAt: number;
  title?: string;
}

/**
 * Closed-loop mixed load over real HTTP: `workers` loops, each sending one request at a time,
 * reads of existing tasks and creations of uniquely titled tasks (so duplicates are detectable).
 */
export class MixedLoad {
  readonly outcomes: Outcome[] = [];
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly options: { workers: number; readIds: number[]; writeShare: number },
  ) {}

  start(): void {
    this.#running = true;
    this.#loops = Array.from({ length: this.options.workers }, () => this.#loop());
  }

  async stop(): Promise<Outcome[]> {
    this.#running = false;
    await Promise.all(this.#loops);
    return this.outcomes;
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      if (Math.random() < this.options.writeShare) await this.#send('write');
      else await this.#send('read');
    }
  }

  async #send(kind: Outcome['kind']): Promise<void> {
    const startedAt = Date.now();
    const title = kind === 'write' ? `load ${randomUUID()}` : undefined;
    const id = this.options.readIds[Math.floor(Math.random() * this.options.readIds.length)];
    let status = 0;
    let body = '';
    try {
      const response =
        kind === 'write'
          ? await fetch(`${this.baseUrl}/tasks`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ title }),
              signal: AbortSignal.timeout(15_000),
            })
          : await fetch(`${this.baseUrl}/tasks/${id}`, { signal: AbortSignal.timeout(15_000) });
      status = response.status;
      body = await response.text();
    } catch (error) {
      body = String(error);
    }
    this.outcomes.push({ kind, status, body, startedAt, endedAt: Date.now(), title });
  }
}

export const isSuccess = (o: Outcome) => o.status >= 200 && o.status < 300;
