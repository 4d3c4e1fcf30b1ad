export * from './mysql-test-shard';
export * from './grpc-test-client';
