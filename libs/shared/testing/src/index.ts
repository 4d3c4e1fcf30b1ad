export { infraStateDir, readInfraEndpoints, type InfraEndpoints } from '@cellpay/config';
export * from './poll-until';
export * from './refusal-code';
export * from './unique-name';
