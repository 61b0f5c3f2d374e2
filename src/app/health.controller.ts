import { Controller, Get, ServiceUnavailableHttpResponse } from '@inversifyjs/http-core';
import { MikroORM } from '@mikro-orm/postgresql';
import { inject } from 'inversify';
import type { Pool } from 'pg';
import { AppLifecycle, nativePool, poolStats, retryableRead } from '../index.js';
import { withTimeout } from '../timeout.js';

/** How long readiness waits for `select 1` before calling the database unavailable. */
export const READY_QUERY_TIMEOUT_MS = 1000;

interface Readiness {
  status: 'ready' | 'starting' | 'stopping' | 'stopped' | 'idle' | 'database_unavailable';
  pool?: ReturnType<typeof poolStats>;
}

@Controller({ path: '/health', scope: 'Singleton' })
export class HealthController {
  #pool?: Pool;

  constructor(
    @inject(MikroORM) private readonly orm: MikroORM,
    @inject(AppLifecycle) private readonly lifecycle: AppLifecycle,
  ) {}

  /** The process is up; says nothing about the database (a restart would not fix it). */
  @Get('/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready for traffic: running (not shutting down) and the database answers `select 1` within 1 s. */
  @Get('/ready')
  async ready(): Promise<Readiness | ServiceUnavailableHttpResponse> {
    const state = this.lifecycle.state;
    if (state !== 'running') return new ServiceUnavailableHttpResponse({ status: state });
    this.#pool ??= await nativePool(this.orm);
    const answered = await this.#selectOne();
    const body: Readiness = { status: answered ? 'ready' : 'database_unavailable', pool: poolStats(this.#pool) };
    return answered ? body : new ServiceUnavailableHttpResponse(body);
  }

  /** A read, so a backend killed under it (a restart, a failover) costs a retry, not a failed probe. */
  async #selectOne(): Promise<boolean> {
    try {
      const answer = retryableRead(() => this.orm.em.getConnection().execute('select 1'));
      await withTimeout(answer, READY_QUERY_TIMEOUT_MS, () => new Error('select 1 timed out'));
      return true;
    } catch {
      return false;
    }
  }
}
