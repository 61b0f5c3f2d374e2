export type { PoolMetricsOptions } from './pool-metrics.js';
export { registerPoolMetrics } from './pool-metrics.js';
