import type { NonceStore, RateLimiter } from '@cellpay/gateway-data-access';
import type { CredentialStore } from '@cellpay/global-data-access';

import type { AuthenticatorPorts, CredentialView } from './authenticator';
import { TtlCache } from './ttl-cache';

export interface AuthenticatorPortsOptions {
  readonly credentials: CredentialStore;
  readonly nonces: NonceStore;
  readonly rateLimiter: RateLimiter;
  readonly stressTrafficRejected: () => boolean;
  readonly nowMs?: () => number;
  /** How long a credential (or its absence) is trusted from memory; revocation takes this long. */
  readonly credentialTtlMs?: number;
  readonly credentialsCachedMax?: number;
}

/** The authenticator's ports on the real stores: MySQL credentials behind a cache, Redis state. */
export function createAuthenticatorPorts(options: AuthenticatorPortsOptions): AuthenticatorPorts {
  const nowMs = options.nowMs ?? Date.now;
  const cache = new TtlCache<CredentialView>({
    entriesMax: options.credentialsCachedMax ?? 10_000,
    ttlMs: options.credentialTtlMs ?? 30_000,
    missTtlMs: 1_000,
    nowMs,
  });
  return {
    findCredential: (keyId) => cache.get(keyId, (id) => options.credentials.findActive(id)),
    claimNonce: (keyId, nonce) => options.nonces.claim(keyId, nonce),
    takeToken: (keyId, ratePerSecond, burst) =>
      options.rateLimiter.take(keyId, ratePerSecond, burst),
    nowMs,
    stressTrafficRejected: options.stressTrafficRejected,
  };
}
