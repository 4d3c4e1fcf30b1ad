export * from './authenticator';
export * from './gateway.exception';
export * from './ttl-cache';
export * from './authenticator-ports';
export * from './cell-breakers';
export * from './request-id';
