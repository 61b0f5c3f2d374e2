import type { Logger } from './logger.js';
import type { Orm } from './orm.js';
import { ReplicaConnection, type ReplicaStatus } from './replica-connection.js';

/** How one read replica is doing, as `/health/ready` reports it. */
export interface ReplicaHealth extends Omit<ReplicaStatus, 'status'> {
  /** `lagging`: it answers, but its data is more than `laggingAfterSeconds` behind the primary. */
  status: 'ok' | 'lagging' | 'down';
}

export interface ReplicaHealthOptions {
  /** A replica that has not answered within this is reported (and treated) as down. */
  timeoutMs: number;
  laggingAfterSeconds: number;
}

/** The read replicas of the ORM's driver (none unless `DATABASE_REPLICA_URLS` is set). */
function replicasOf(orm: Orm): readonly ReplicaConnection[] {
  const { replicaConnections } = orm.driver as { replicaConnections?: readonly unknown[] };
  return (replicaConnections ?? []).filter((replica) => replica instanceof ReplicaConnection);
}

/**
 * Probes every read replica at once: whether it answers, and how far behind the primary it is.
 * A replica found down is taken out of the read rotation (reads go to the primary), one that
 * answers is put back. Replicas are named `replica-<n>` after their place in
 * `DATABASE_REPLICA_URLS`, never by host.
 */
export function replicaHealth(orm: Orm, options: ReplicaHealthOptions): Promise<ReplicaHealth[]> {
  return Promise.all(
    replicasOf(orm).map(async (replica) => {
      const { status, ...found } = await replica.check(options.timeoutMs);
      const lagging = status === 'ok' && (found.lagSeconds ?? 0) > options.laggingAfterSeconds;
      return { ...found, status: lagging ? 'lagging' : status };
    }),
  );
}

/** Replica state changes (down, back) go to the same logger as the rest of the lifecycle. */
export function logReplicasTo(orm: Orm, log: () => Logger): void {
  for (const replica of replicasOf(orm)) replica.useLogger(log);
}
