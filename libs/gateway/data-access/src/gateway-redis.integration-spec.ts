import type Redis from 'ioredis';

import { createRedis } from '@cellpay/connections';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { NonceStore } from './nonce-store';
import { RateLimiter } from './rate-limiter';

describe('gateway protection state in real Redis', () => {
  const infra = readInfraEndpoints();
  const prefix = uniqueName('gw');
  let redis: Redis;

  beforeAll(() => {
    redis = createRedis(infra.redis);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('lets a burst through, refuses the next request with a retry hint, then refills', async () => {
    const limiter = new RateLimiter(redis, `${prefix}:rl`);
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.take('key-a', 10, 5));
    expect(decisions.slice(0, 5).every((d) => d.allowed)).toBe(true);
    expect(decisions[5]?.allowed).toBe(false);
    // One token at 10 per second takes at most 100 ms to come back.
    expect(decisions[5]?.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[5]?.retryAfterMs).toBeLessThanOrEqual(100);

    const refusedAt = Date.now();
    await pollUntil(async () => (await limiter.take('key-a', 10, 5)).allowed, {
      timeoutMs: 2_000,
      intervalMs: 20,
      description: 'a refilled token',
    });
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(50);
  });

  it('keeps buckets of different credentials apart, also under concurrent takes', async () => {
    const limiter = new RateLimiter(redis, `${prefix}:rl`);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => limiter.take('key-b', 1, 20)),
    );
    // Exactly the burst gets through however the 50 concurrent calls interleave.
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect((await limiter.take('key-c', 1, 1)).allowed).toBe(true);
  });

  it('claims a nonce once per key ID, and keeps it past the freshness window', async () => {
    const nonces = new NonceStore(redis, `${prefix}:nonce`);
    expect(await nonces.claim('key-a', 'nonce-0000000000000001')).toBe(true);
    expect(await nonces.claim('key-a', 'nonce-0000000000000001')).toBe(false);
    expect(await nonces.claim('key-b', 'nonce-0000000000000001')).toBe(true);
    const ttlMs = await redis.pttl(`${prefix}:nonce:key-a:nonce-0000000000000001`);
    expect(ttlMs).toBeGreaterThan(5 * 60 * 1000);
  });
});
