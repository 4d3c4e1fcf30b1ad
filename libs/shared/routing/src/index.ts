export * from './slot';
export * from './routing-table';
