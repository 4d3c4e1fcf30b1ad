export * from './run/simulation';
export * from './run/shrink';
export * from './run/simulate-cli';
export * from './workload/scenario';
export * from './invariants/violation';
export * from './settlement/planted-bugs';
export * from './world/seeded-random';
