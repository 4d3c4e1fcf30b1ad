export * from './backoff';
export * from './dead-letter-queue';
export * from './inbox-consumer';
export * from './outbox-relay';
export * from './topic-admin';
