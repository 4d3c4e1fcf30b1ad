import type Redis from 'ioredis';

import { signatureWindowMs } from '@cellpay/signing';

/**
 * Remembers the nonces of signed requests for longer than a signature stays fresh, so a captured
 * request cannot be replayed: a nonce can be claimed once per key ID. Claimed only after the
 * signature verified, so forged requests cannot fill the store.
 */
export class NonceStore {
  /** Twice the freshness window: a timestamp may be up to one window in the past or future. */
  static readonly retentionMs = 2 * signatureWindowMs;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix = 'cellpay:nonce',
  ) {}

  async claim(keyId: string, nonce: string): Promise<boolean> {
    const result = await this.redis.set(
      `${this.keyPrefix}:${keyId}:${nonce}`,
      '1',
      'PX',
      NonceStore.retentionMs,
      'NX',
    );
    return result === 'OK';
  }
}
