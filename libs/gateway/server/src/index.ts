export * from './cell-client';
export * from './gateway-error.filter';
export * from './gateway-server';
export * from './gateway.service';
export * from './memory-authenticator-ports';
export * from './public-operations';
