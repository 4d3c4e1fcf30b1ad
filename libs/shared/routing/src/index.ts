export * from './slot';
export * from './routing-table';
export * from './routing-headers';
