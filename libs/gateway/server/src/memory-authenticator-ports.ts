import { signatureWindowMs } from '@cellpay/signing';
import type { AuthenticatorPorts, CredentialView } from '@cellpay/gateway-edge';

export interface MemoryAuthenticatorPortsOptions {
  readonly credentials: readonly CredentialView[];
  readonly nowMs?: () => number;
  /**
   * Nonces remembered at most. Stale ones are forgotten first; when the store is full of fresh
   * ones, new claims are refused (fail closed) rather than forgetting a nonce still replayable.
   */
  readonly noncesMax?: number;
}

/**
 * The authenticator's ports for the embedded platform (`npm start`): credentials, nonces and
 * token buckets in process memory. A single process is the only gateway there, so memory is the
 * shared store; the real deployment uses MySQL and Redis (createAuthenticatorPorts).
 */
export function createMemoryAuthenticatorPorts(
  options: MemoryAuthenticatorPortsOptions,
): AuthenticatorPorts {
  const nowMs = options.nowMs ?? Date.now;
  const noncesMax = options.noncesMax ?? 100_000;
  const credentials = new Map(
    options.credentials.map((credential) => [credential.keyId, credential]),
  );
  // Insertion order is claim order, so the first entries are the oldest.
  const nonces = new Map<string, number>();
  const buckets = new Map<string, { tokens: number; refilledAtMs: number }>();
  return {
    findCredential: (keyId) => Promise.resolve(credentials.get(keyId)),
    claimNonce: (keyId, nonce) => {
      const now = nowMs();
      for (const [key, expiresAtMs] of nonces) {
        if (expiresAtMs > now) break;
        nonces.delete(key);
      }
      const key = `${keyId}:${nonce}`;
      if (nonces.has(key) || nonces.size >= noncesMax) return Promise.resolve(false);
      nonces.set(key, now + 2 * signatureWindowMs);
      return Promise.resolve(true);
    },
    takeToken: (keyId, ratePerSecond, burst) => {
      const now = nowMs();
      const bucket = buckets.get(keyId) ?? { tokens: burst, refilledAtMs: now };
      bucket.tokens = Math.min(
        burst,
        bucket.tokens + ((now - bucket.refilledAtMs) * ratePerSecond) / 1000,
      );
      bucket.refilledAtMs = now;
      buckets.set(keyId, bucket);
      if (bucket.tokens < 1) {
        const retryAfterMs = Math.ceil(((1 - bucket.tokens) * 1000) / ratePerSecond);
        return Promise.resolve({ allowed: false, retryAfterMs });
      }
      bucket.tokens -= 1;
      return Promise.resolve({ allowed: true, retryAfterMs: 0 });
    },
    nowMs,
    stressTrafficRejected: () => false,
  };
}
