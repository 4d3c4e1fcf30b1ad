import { requestContextMetadata, stressMarkOf } from '@cellpay/observability';
import { signatureHeaders, verifyRequest } from '@cellpay/signing';

import { GatewayError, GatewayErrorCode } from './gateway.exception';

export type Scope = 'pay' | 'refund' | 'read' | 'wallet' | 'stress';

export interface CredentialView {
  readonly keyId: string;
  readonly ownerId: string;
  readonly ownerKind: 'merchant' | 'first_party';
  readonly scopes: ReadonlySet<Scope>;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly secret: Buffer;
}

export interface AuthenticatorPorts {
  findCredential(keyId: string): Promise<CredentialView | undefined>;
  claimNonce(keyId: string, nonce: string): Promise<boolean>;
  /** Takes a token from the named bucket (a credential's key ID, or a merchant's cap bucket). */
  takeToken(
    bucket: string,
    ratePerSecond: number,
    burst: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }>;
  nowMs(): number;
  /** The "reject stress traffic" degradation switch. */
  stressTrafficRejected(): boolean;
  /** The `merchant_rate_caps` switch: requests per second for this merchant, if capped. */
  merchantRateCap(merchantId: string): number | undefined;
  /** Told of every request refused for its rate (the `cellpay_rate_limited_total` counter). */
  rateLimited(ownerId: string): void;
}

/** The bucket of a merchant's cap, shared by all its credentials; key IDs never start so. */
export function merchantCapBucket(merchantId: string): string {
  return `merchant-cap:${merchantId}`;
}

/** Who is calling, once the request has proved it. */
export interface Principal {
  readonly keyId: string;
  readonly ownerId: string;
  readonly ownerKind: 'merchant' | 'first_party';
  /** The request is shadow (stress-test) traffic: it must never touch real money. */
  readonly stress: boolean;
}

export interface IncomingRequest {
  readonly method: string;
  /** gRPC metadata, first value of each key. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

/**
 * The rate-limit bucket of stress traffic: its own, so a stress run never eats a credential's live
 * budget. In Redis it is `<prefix>:shadow:<key ID>`; key IDs never start with `shadow:`.
 */
export function shadowBucketOf(bucket: string): string {
  return `shadow:${bucket}`;
}

/** The metadata that marks stress traffic; the gateway forwards it to the cell unchanged. */
export const stressHeader = requestContextMetadata.stress;

/**
 * The gateway's door: who is calling, did they sign exactly this request, are they allowed to
 * call this method, is this a replay, are they within their rate. The checks run from cheapest
 * and least abusable to dearest: the nonce is claimed and a token taken only after the signature
 * verified, so forged requests can neither burn nonces nor drain a merchant's rate budget.
 */
export class Authenticator {
  constructor(
    private readonly ports: AuthenticatorPorts,
    private readonly requiredScopes: ReadonlyMap<string, Scope>,
  ) {}

  async authenticate(request: IncomingRequest): Promise<Principal> {
    const scope = this.requiredScopes.get(request.method);
    if (scope === undefined) {
      throw new GatewayError(GatewayErrorCode.MethodUnknown, `unknown method ${request.method}`);
    }
    const keyId = request.headers[signatureHeaders.keyId];
    const timestamp = request.headers[signatureHeaders.timestamp];
    const nonce = request.headers[signatureHeaders.nonce];
    const signature = request.headers[signatureHeaders.signature];
    if (!keyId || !timestamp || !nonce || !signature) {
      throw new GatewayError(
        GatewayErrorCode.SignatureMissing,
        `requests must carry ${Object.values(signatureHeaders).join(', ')}`,
      );
    }
    if (!/^\d{1,16}$/.test(timestamp)) {
      throw new GatewayError(
        GatewayErrorCode.TimestampOutsideWindow,
        'timestamp is not a number of milliseconds',
      );
    }
    const credential = await this.ports.findCredential(keyId);
    if (credential === undefined) {
      throw new GatewayError(GatewayErrorCode.CredentialUnknown, 'unknown or revoked credential');
    }
    const check = verifyRequest(
      credential.secret,
      { method: request.method, keyId, timestampMs: Number(timestamp), nonce, body: request.body },
      signature,
      this.ports.nowMs(),
    );
    if (!check.ok) throw new GatewayError(reasonToCode[check.reason], describe[check.reason]);

    if (!credential.scopes.has(scope)) {
      throw new GatewayError(
        GatewayErrorCode.ScopeMissing,
        `this credential lacks the ${scope} scope`,
        {
          scope,
        },
      );
    }
    const stress = stressMarkOf(request.headers[stressHeader]);
    if (stress === undefined) {
      throw new GatewayError(
        GatewayErrorCode.StressMarkMalformed,
        `${stressHeader} must be 1 (stress traffic) or 0`,
      );
    }
    if (stress && !credential.scopes.has('stress')) {
      throw new GatewayError(
        GatewayErrorCode.StressTrafficNotAllowed,
        'stress traffic needs a credential with the stress scope',
      );
    }
    if (stress && this.ports.stressTrafficRejected()) {
      throw new GatewayError(
        GatewayErrorCode.StressTrafficRejected,
        'stress traffic is switched off',
      );
    }
    if (!(await this.ports.claimNonce(keyId, nonce))) {
      throw new GatewayError(GatewayErrorCode.NonceReused, 'this nonce was already used');
    }
    // Nonces are claimed in one namespace for live and stress traffic alike: the stress mark is
    // not signed, so a captured stress request replayed without it must still find its nonce used.
    const token = await this.ports.takeToken(
      stress ? shadowBucketOf(keyId) : keyId,
      credential.ratePerSecond,
      credential.burst,
    );
    if (!token.allowed) {
      this.ports.rateLimited(credential.ownerId);
      throw new GatewayError(GatewayErrorCode.RateLimited, 'rate limit exceeded', {
        limit: 'credential',
        retryAfterMs: String(token.retryAfterMs),
      });
    }
    await this.enforceMerchantCap(credential);
    return { keyId, ownerId: credential.ownerId, ownerKind: credential.ownerKind, stress };
  }

  /**
   * The operator's cap on a merchant (a degradation switch), on top of each credential's own
   * limit: one bucket per merchant, shared by all its credentials and all gateways. A cap of N
   * allows N per second with bursts of at most N.
   */
  private async enforceMerchantCap(credential: CredentialView): Promise<void> {
    if (credential.ownerKind !== 'merchant') return;
    const cap = this.ports.merchantRateCap(credential.ownerId);
    if (cap === undefined) return;
    const token = await this.ports.takeToken(merchantCapBucket(credential.ownerId), cap, cap);
    if (token.allowed) return;
    this.ports.rateLimited(credential.ownerId);
    throw new GatewayError(
      GatewayErrorCode.RateLimited,
      `this merchant is capped at ${cap} requests per second`,
      { limit: 'merchant_cap', retryAfterMs: String(token.retryAfterMs) },
    );
  }
}

const reasonToCode = {
  signature_malformed: GatewayErrorCode.SignatureMalformed,
  signature_mismatch: GatewayErrorCode.SignatureMismatch,
  timestamp_outside_window: GatewayErrorCode.TimestampOutsideWindow,
  nonce_malformed: GatewayErrorCode.NonceMalformed,
} as const;

const describe = {
  signature_malformed: 'the signature is not a base64url HMAC-SHA256',
  signature_mismatch: 'the signature does not match the request',
  timestamp_outside_window: 'the request timestamp is more than five minutes from now',
  nonce_malformed: 'the nonce must be 16 to 64 characters of [A-Za-z0-9_-]',
} as const;
