export * from './saga';
export * from './settlement-event';
export * from './topics';
