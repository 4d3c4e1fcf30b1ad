export * from './config';
export * from './infra-endpoints';
