export * from './cellpay-client';
export * from './cellpay-error';
export * from './format-table';
