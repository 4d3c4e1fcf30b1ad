import Redis, { type RedisOptions } from 'ioredis';

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly keyPrefix?: string;
}

/**
 * An ioredis client whose failure behaviour is explicit: commands time out, a request is retried a
 * bounded number of times, and nothing queues without bound while the server is away.
 */
export function createRedis(endpoint: RedisEndpoint, overrides: Partial<RedisOptions> = {}): Redis {
  return new Redis({
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.keyPrefix === undefined ? {} : { keyPrefix: endpoint.keyPrefix }),
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2_000),
    lazyConnect: false,
    ...overrides,
  });
}
