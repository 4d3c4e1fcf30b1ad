import type Redis from 'ioredis';

import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { createRedis } from './redis';

describe('ioredis against the real local Redis', () => {
  const infra = readInfraEndpoints();
  let redis: Redis;
  const key = uniqueName('probe');

  beforeAll(() => {
    redis = createRedis(infra.redis);
  });

  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('round-trips a value with an expiry and an atomic increment', async () => {
    expect(await redis.set(key, '41', 'PX', 60_000)).toBe('OK');
    expect(await redis.incr(key)).toBe(42);
    expect(await redis.get(key)).toBe('42');
    const ttlMs = await redis.pttl(key);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(60_000);
  });
});
