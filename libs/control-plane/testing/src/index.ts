export * from './dedicated-shard-pair';
