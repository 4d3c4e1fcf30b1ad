export * from './cell-failover-drill';
export * from './drill-load';
export * from './drill-operation';
export * from './drill-report-writer';
export * from './drill-runner';
export * from './shard-drill-verifier';
export * from './migration-drill-verifier';
export * from './slot-migration-drill';
