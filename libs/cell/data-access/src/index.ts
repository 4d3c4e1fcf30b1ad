export * from './idempotency';
export * from './memory/memory-cell-store';
export * from './system-ports';
export * from './tokens';
export * from './cell-persistence.module';
