export * from './cell-drain';
export * from './cell-failover';
export * from './cell-failover.exception';
export * from './cell-operation-timeline';
