export * from './global-schema';
export * from './routing-follower';
export * from './routing-store';
export * from './secret-box';
export * from './credential-store';
