export type { ContainerPoolMetrics, OrmPoolMetrics, PoolMetricsOptions } from './pool-metrics.js';
export { registerPoolMetrics } from './pool-metrics.js';
