export * from './cell-context';
export * from './cell.module';
