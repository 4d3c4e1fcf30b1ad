export * from './payment-views';
export * from './payment.module';
export * from './payment.service';
export * from './use-cases/create-payment.use-case';
export * from './use-cases/query-payment.use-case';
export * from './use-cases/refund-payment.use-case';
export * from './use-cases/settle-authorization.use-case';
export * from './grpc/payment.grpc-controller';
