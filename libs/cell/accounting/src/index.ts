export * from './accounting.module';
export * from './accounting.service';
export * from './general-ledger-poster';
export * from './use-cases/catch-up-gl-posting.use-case';
export * from './use-cases/close-day.use-case';
export * from './use-cases/get-trial-balance.use-case';
export * from './use-cases/reconcile-cell.use-case';
export * from './grpc/accounting.grpc-controller';
