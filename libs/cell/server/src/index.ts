export * from './cell-grpc-server';
export * from './grpc/cell-error.filter';
export * from './grpc/slot-ownership.guard';
export * from './grpc/request-context.interceptor';
export * from './grpc/admission-limiter';
export * from './grpc/admission.interceptor';
