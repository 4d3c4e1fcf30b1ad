export * from './idempotency';
export * from './memory/memory-cell-store';
export * from './system-ports';
export * from './tokens';
export * from './cell-persistence.module';
export * from './mysql/migrations';
export * from './mysql/mysql-cell-store';
export * from './mysql/table-set';
