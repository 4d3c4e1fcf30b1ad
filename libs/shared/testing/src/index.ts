export * from './infra-endpoints';
export * from './poll-until';
