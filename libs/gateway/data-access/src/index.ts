export * from './nonce-store';
export * from './rate-limiter';
