import { signRequest, signatureHeaders } from '@cellpay/signing';

import {
  Authenticator,
  merchantCapBucket,
  stressHeader,
  type AuthenticatorPorts,
  type CredentialView,
  type Scope,
} from './authenticator';
import { GatewayErrorCode } from './gateway.exception';

const secret = Buffer.from('secret-of-merchant-1-32-bytes-ok');
const now = 1_780_000_000_000;
const method = '/cellpay.v1.Payments/Pay';
const body = { outTradeNo: 'order-1', amount: { amountMinor: '100', currency: 'CNY' } };

const credential = (scopes: Scope[]): CredentialView => ({
  keyId: 'key_1',
  ownerId: 'merchant-1',
  ownerKind: 'merchant',
  scopes: new Set(scopes),
  ratePerSecond: 10,
  burst: 10,
  secret,
});

function setup(
  scopes: Scope[] = ['pay', 'read'],
  options: {
    stressOff?: boolean;
    rateAllowed?: boolean;
    capAllowed?: boolean;
    cap?: number;
    ownerKind?: CredentialView['ownerKind'];
  } = {},
) {
  const claimed = new Set<string>();
  const calls = { claim: 0, take: 0, buckets: [] as string[], limited: [] as string[] };
  const ports: AuthenticatorPorts = {
    findCredential: async (keyId) =>
      keyId === 'key_1'
        ? { ...credential(scopes), ownerKind: options.ownerKind ?? 'merchant' }
        : undefined,
    claimNonce: async (keyId, nonce) => {
      calls.claim += 1;
      const key = `${keyId}:${nonce}`;
      if (claimed.has(key)) return false;
      claimed.add(key);
      return true;
    },
    takeToken: async (bucket) => {
      calls.take += 1;
      calls.buckets.push(bucket);
      const allowed = bucket === 'key_1' ? options.rateAllowed : options.capAllowed;
      return allowed === false
        ? { allowed: false, retryAfterMs: 70 }
        : { allowed: true, retryAfterMs: 0 };
    },
    nowMs: () => now,
    stressTrafficRejected: () => options.stressOff === true,
    merchantRateCap: (merchantId) => (merchantId === 'merchant-1' ? options.cap : undefined),
    rateLimited: (ownerId) => calls.limited.push(ownerId),
  };
  const authenticator = new Authenticator(
    ports,
    new Map<string, Scope>([
      [method, 'pay'],
      ['/cellpay.v1.Payments/Refund', 'refund'],
    ]),
  );
  return { authenticator, calls };
}

function signed(
  overrides: {
    nonce?: string;
    timestampMs?: number;
    extraHeaders?: Record<string, string>;
    signBody?: unknown;
    sendBody?: unknown;
    sendMethod?: string;
  } = {},
) {
  const nonce = overrides.nonce ?? 'nonce-aaaaaaaaaaaaaaaa';
  const timestampMs = overrides.timestampMs ?? now;
  const signature = signRequest(secret, {
    method,
    keyId: 'key_1',
    timestampMs,
    nonce,
    body: overrides.signBody ?? body,
  });
  return {
    method: overrides.sendMethod ?? method,
    body: overrides.sendBody ?? body,
    headers: {
      [signatureHeaders.keyId]: 'key_1',
      [signatureHeaders.timestamp]: String(timestampMs),
      [signatureHeaders.nonce]: nonce,
      [signatureHeaders.signature]: signature,
      ...overrides.extraHeaders,
    },
  };
}

describe('Authenticator', () => {
  it('accepts a well-signed request and names the caller', async () => {
    const { authenticator } = setup();
    await expect(authenticator.authenticate(signed())).resolves.toEqual({
      keyId: 'key_1',
      ownerId: 'merchant-1',
      ownerKind: 'merchant',
      stress: false,
    });
  });

  it.each([
    [
      'no signature headers',
      () => ({ method, body, headers: {} }),
      GatewayErrorCode.SignatureMissing,
    ],
    [
      'an unknown key',
      () => {
        const r = signed();
        return { ...r, headers: { ...r.headers, [signatureHeaders.keyId]: 'key_404' } };
      },
      GatewayErrorCode.CredentialUnknown,
    ],
    [
      'a tampered body',
      () => signed({ sendBody: { ...body, amount: { amountMinor: '1000000', currency: 'CNY' } } }),
      GatewayErrorCode.SignatureMismatch,
    ],
    [
      'an expired timestamp',
      () => signed({ timestampMs: now - 5 * 60 * 1000 - 1 }),
      GatewayErrorCode.TimestampOutsideWindow,
    ],
    [
      'a non-numeric timestamp',
      () => {
        const r = signed();
        return { ...r, headers: { ...r.headers, [signatureHeaders.timestamp]: 'yesterday' } };
      },
      GatewayErrorCode.TimestampOutsideWindow,
    ],
    [
      'a method it was not signed for',
      () => signed({ sendMethod: '/cellpay.v1.Payments/Refund' }),
      GatewayErrorCode.SignatureMismatch,
    ],
    [
      'an unknown method',
      () => signed({ sendMethod: '/cellpay.v1.Admin/DropTables' }),
      GatewayErrorCode.MethodUnknown,
    ],
  ])('refuses %s without claiming a nonce or a token', async (_name, request, code) => {
    const { authenticator, calls } = setup();
    await expect(authenticator.authenticate(request())).rejects.toMatchObject({ code });
    expect(calls).toMatchObject({ claim: 0, take: 0, limited: [] });
  });

  it('refuses a replayed request', async () => {
    const { authenticator } = setup();
    const request = signed();
    await authenticator.authenticate(request);
    await expect(authenticator.authenticate(request)).rejects.toMatchObject({
      code: GatewayErrorCode.NonceReused,
    });
  });

  it('refuses a method outside the credential scopes', async () => {
    const { authenticator, calls } = setup(['read']);
    await expect(authenticator.authenticate(signed())).rejects.toMatchObject({
      code: GatewayErrorCode.ScopeMissing,
      metadata: { scope: 'pay' },
    });
    expect(calls.claim).toBe(0);
  });

  it('refuses stress traffic from a credential without the stress scope, and when switched off', async () => {
    const stress = { extraHeaders: { [stressHeader]: '1' } };
    await expect(setup(['pay']).authenticator.authenticate(signed(stress))).rejects.toMatchObject({
      code: GatewayErrorCode.StressTrafficNotAllowed,
    });
    await expect(
      setup(['pay', 'stress'], { stressOff: true }).authenticator.authenticate(signed(stress)),
    ).rejects.toMatchObject({ code: GatewayErrorCode.StressTrafficRejected });
    const allowed = setup(['pay', 'stress']);
    await expect(allowed.authenticator.authenticate(signed(stress))).resolves.toMatchObject({
      stress: true,
    });
    expect(allowed.calls).toMatchObject({ take: 1 });
    // The mark is not signed: the same request replayed without it must find its nonce used.
    await expect(allowed.authenticator.authenticate(signed())).rejects.toMatchObject({
      code: GatewayErrorCode.NonceReused,
    });
  });

  it('refuses a stress mark that is neither 1 nor 0, before touching nonces or buckets', async () => {
    const { authenticator, calls } = setup(['pay', 'stress']);
    await expect(
      authenticator.authenticate(signed({ extraHeaders: { [stressHeader]: 'true' } })),
    ).rejects.toMatchObject({ code: GatewayErrorCode.StressMarkMalformed });
    expect(calls).toMatchObject({ claim: 0, take: 0 });
    await expect(
      authenticator.authenticate(signed({ extraHeaders: { [stressHeader]: '0' } })),
    ).resolves.toMatchObject({ stress: false });
    expect(calls).toMatchObject({ take: 1 });
  });

  it('refuses over the rate limit with a retry hint, and counts the refusal', async () => {
    const { authenticator, calls } = setup(['pay'], { rateAllowed: false, cap: 5 });
    await expect(authenticator.authenticate(signed())).rejects.toMatchObject({
      code: GatewayErrorCode.RateLimited,
      metadata: { limit: 'credential', retryAfterMs: '70' },
    });
    expect(calls.limited).toEqual(['merchant-1']);
    // Refused by its own credential first: the merchant's cap bucket is left alone.
    expect(calls.buckets).toEqual(['key_1']);
  });

  it("takes a token from the merchant's cap bucket when the switch caps it", async () => {
    const { authenticator, calls } = setup(['pay'], { cap: 5 });
    await expect(authenticator.authenticate(signed())).resolves.toMatchObject({
      ownerId: 'merchant-1',
    });
    expect(calls.buckets).toEqual(['key_1', merchantCapBucket('merchant-1')]);
  });

  it('refuses a capped merchant over its cap, naming the cap', async () => {
    const { authenticator, calls } = setup(['pay'], { cap: 5, capAllowed: false });
    await expect(authenticator.authenticate(signed())).rejects.toMatchObject({
      code: GatewayErrorCode.RateLimited,
      message: 'this merchant is capped at 5 requests per second',
      metadata: { limit: 'merchant_cap', retryAfterMs: '70' },
    });
    expect(calls.limited).toEqual(['merchant-1']);
  });

  it('never caps first-party backends, and uncapped merchants use one bucket', async () => {
    const firstParty = setup(['pay'], { cap: 5, capAllowed: false, ownerKind: 'first_party' });
    await expect(firstParty.authenticator.authenticate(signed())).resolves.toBeDefined();
    expect(firstParty.calls.buckets).toEqual(['key_1']);
    const uncapped = setup(['pay'], { capAllowed: false });
    await expect(uncapped.authenticator.authenticate(signed())).resolves.toBeDefined();
    expect(uncapped.calls.buckets).toEqual(['key_1']);
  });
});
