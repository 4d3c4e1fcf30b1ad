export * from './context/request-context';
export * from './logger';
export * from './metrics/db-transaction.timer';
export * from './metrics/grpc-call.timer';
export * from './metrics/metric-definitions';
export * from './metrics/metrics-registry';
export * from './ops/ops-server';
export * from './ops/readiness';
