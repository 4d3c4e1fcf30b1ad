import type Redis from 'ioredis';

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When a refused caller may try again; 0 when allowed. */
  readonly retryAfterMs: number;
}

// A token bucket per key, refilled continuously at `rate` tokens per second up to `burst`. Redis's
// own clock (TIME) is used so that every gateway shares one notion of now, and the whole
// read-refill-take step is one atomic script. Idle buckets expire once they would be full.
const tokenBucketScript = `
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1])
local at = tonumber(bucket[2])
if tokens == nil or at == nil then
  tokens = burst
  at = nowMs
end
tokens = math.min(burst, tokens + math.max(0, nowMs - at) * rate / 1000)
local allowed = 0
local retryMs = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retryMs = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(nowMs))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, retryMs}`;

/** Per-credential request rate limits shared by every gateway through Redis. */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix = 'cellpay:ratelimit',
  ) {}

  async take(
    bucket: string,
    ratePerSecond: number,
    burst: number,
    cost = 1,
  ): Promise<RateLimitDecision> {
    if (ratePerSecond <= 0 || burst <= 0 || cost <= 0) {
      throw new RangeError('rate, burst and cost must be positive');
    }
    const [allowed, retryAfterMs] = (await this.redis.eval(
      tokenBucketScript,
      1,
      `${this.keyPrefix}:${bucket}`,
      ratePerSecond,
      burst,
      cost,
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs };
  }
}
