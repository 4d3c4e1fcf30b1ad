export * from './infra-endpoints';
export * from './poll-until';
export * from './refusal-code';
