import { Controller, Get, ServiceUnavailableHttpResponse } from '@inversifyjs/http-core';
import { MikroORM } from '@mikro-orm/postgresql';
import { inject } from 'inversify';
import {
  AppLifecycle,
  isDisconnectError,
  nativePool,
  poolStats,
  queryWithin,
  type ReplicaHealth,
  replicaHealth,
} from 'inversify-mikro-orm';
import type { Pool } from 'pg';

/** How long readiness waits for `select 1` before calling the database unavailable. */
export const READY_QUERY_TIMEOUT_MS = 1000;
/** A replica whose data is further behind the primary than this is reported `lagging` (it still serves reads). */
export const REPLICA_LAGGING_AFTER_S = 5;

interface Readiness {
  status: 'ready' | 'starting' | 'stopping' | 'stopped' | 'idle' | 'database_unavailable';
  pool?: ReturnType<typeof poolStats>;
  /** Present when read replicas are configured; a replica that is down does not make the service unready (the primary serves its reads). */
  replicas?: ReplicaHealth[];
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

  /**
   * Ready for traffic: running (not shutting down) and the primary answers `select 1` within 1 s.
   * Each read replica is probed at the same time and reported, but only the primary decides.
   */
  @Get('/ready')
  async ready(): Promise<Readiness | ServiceUnavailableHttpResponse> {
    const state = this.lifecycle.state;
    if (state !== 'running') return new ServiceUnavailableHttpResponse({ status: state });
    this.#pool ??= await nativePool(this.orm);
    const [answered, replicas] = await Promise.all([
      selectOneRetried(this.#pool, AbortSignal.timeout(READY_QUERY_TIMEOUT_MS)).then(
        () => true,
        () => false,
      ),
      replicaHealth(this.orm, { timeoutMs: READY_QUERY_TIMEOUT_MS, laggingAfterSeconds: REPLICA_LAGGING_AFTER_S }),
    ]);
    const body: Readiness = {
      status: answered ? 'ready' : 'database_unavailable',
      pool: poolStats(this.#pool),
      ...(replicas.length > 0 && { replicas }),
    };
    return answered ? body : new ServiceUnavailableHttpResponse(body);
  }
}

/** A backend killed under the probe (a restart, a failover) costs a retry within the budget, not a failed probe. */
async function selectOneRetried(pool: Pool, signal: AbortSignal): Promise<void> {
  try {
    await queryWithin(pool, 'select 1', signal);
  } catch (error) {
    if (signal.aborted || !isDisconnectError(error)) throw error;
    await queryWithin(pool, 'select 1', signal);
  }
}
