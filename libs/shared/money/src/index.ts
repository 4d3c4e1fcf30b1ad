export * from './amount-limits';
export * from './currency';
export * from './money';
export * from './money-error';
