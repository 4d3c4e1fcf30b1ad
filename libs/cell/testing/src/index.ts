export * from './mysql-test-shard';
