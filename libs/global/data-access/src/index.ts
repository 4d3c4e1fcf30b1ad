export * from './credential-store';
export * from './global-schema';
export * from './routing-follower';
export * from './routing-store';
export * from './secret-box';
export * from './versioned-follower';
export * from './switch-store';
export * from './switches';
