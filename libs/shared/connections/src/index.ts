export * from './kafka';
export * from './mysql';
export * from './redis';
export * from './migrations';
