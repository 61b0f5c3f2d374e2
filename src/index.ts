export { queryWithin } from './bounded-query.js';
export type {
  DatabaseConfig,
  DatabaseConfigOverrides,
  Environment,
  LifecycleSettings,
  LoadDatabaseConfigOptions,
} from './config.js';
export { loadDatabaseConfig } from './config.js';
export { isAcquireTimeoutError, isDisconnectError } from './database-errors.js';
export type { DatabaseConfigFactory, DatabaseModuleOptions } from './database-module.js';
export { databaseModule } from './database-module.js';
export { DEFAULT_DATABASE } from './database-name.js';
export type { LocalDatabaseServer } from './database-server.js';
export type { InversifyMikroOrmErrorKind } from './errors.js';
export { InversifyMikroOrmError, isInversifyMikroOrmError } from './errors.js';
export type { SessionDatabases } from './http-sessions.js';
export type { LifecycleHook, LifecycleState, StartOptions, StopHookOptions } from './lifecycle.js';
export { AppLifecycle } from './lifecycle.js';
export type { Logger } from './logger.js';
export type { Orm } from './orm.js';
export type { PoolSettings } from './pool.js';
export { nativePool, poolStats } from './pool.js';
export type { ConnectionCounts, PoolFigures, RetirementReason, SchemaStepFigures } from './pool-figures.js';
export { poolFigures } from './pool-figures.js';
export { ReadYourWritesEntityManager } from './read-your-writes.js';
export type { ReplicaOptions, ReplicaStatus } from './replica-connection.js';
export { ReplicaConnection } from './replica-connection.js';
export type { ReplicaHealth, ReplicaHealthOptions } from './replica-health.js';
export { replicaHealth } from './replica-health.js';
export type { RepositoryOf } from './repository.js';
export { repositoryOf } from './repository.js';
export { withSession } from './request-context.js';
export { ResilientPostgreSqlConnection, ResilientPostgreSqlDriver } from './resilient-driver.js';
export { retryableRead } from './retryable-read.js';
export { schemaFingerprint } from './schema-fingerprint.js';
export type { SchemaSyncOutcome } from './schema-sync.js';
export { validateScopes } from './scope-validation.js';
export { Session } from './session.js';
export type { SessionLogger } from './session-release.js';
