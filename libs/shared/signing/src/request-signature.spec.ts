import { canonicalJson } from './canonical-json';
import { protoJsonView } from './proto-json-view';
import { signRequest, stringToSign, verifyRequest, type SignedParts } from './request-signature';

const secret = Buffer.from('a-test-secret-of-32-bytes-length', 'utf8');
const now = 1_780_000_000_000;
const parts: SignedParts = {
  method: '/cellpay.v1.Payments/Pay',
  keyId: 'key_merchant_1',
  timestampMs: now,
  nonce: 'nonce-0123456789abcdef',
  body: {
    outTradeNo: 'order-1',
    amount: { amountMinor: '1234', currency: 'CNY' },
    payerId: 'user-1',
  },
};

describe('canonicalJson', () => {
  it('sorts keys at every level and drops absent values', () => {
    expect(canonicalJson({ b: 1, a: { d: [], c: 'x', e: null }, f: undefined, g: {} })).toBe(
      '{"a":{"c":"x"},"b":1}',
    );
  });

  it('writes bigints and bytes the way proto3 JSON does', () => {
    expect(canonicalJson({ amountMinor: 9_223_372_036_854_775_807n, raw: Buffer.from('hi') })).toBe(
      '{"amountMinor":"9223372036854775807","raw":"aGk="}',
    );
  });

  it('refuses values that have no single spelling', () => {
    expect(() => canonicalJson({ amount: Number.NaN })).toThrow(/non-finite/);
  });
});

describe('request signatures', () => {
  it('has a fixed string to sign that every SDK must reproduce', () => {
    expect(stringToSign(parts).split('\n')).toEqual([
      'CELLPAY-HMAC-SHA256',
      '/cellpay.v1.Payments/Pay',
      'key_merchant_1',
      String(now),
      'nonce-0123456789abcdef',
      expect.stringMatching(/^[0-9a-f]{64}$/),
    ]);
  });

  it('verifies its own signature regardless of key order in the body', () => {
    const signature = signRequest(secret, parts);
    const reordered = {
      ...parts,
      body: {
        payerId: 'user-1',
        amount: { currency: 'CNY', amountMinor: '1234' },
        outTradeNo: 'order-1',
      },
    };
    expect(verifyRequest(secret, reordered, signature, now + 1_000)).toEqual({ ok: true });
  });

  it.each([
    [
      'a tampered amount',
      { body: { ...(parts.body as object), amount: { amountMinor: '1235', currency: 'CNY' } } },
      'signature_mismatch',
    ],
    ['another method', { method: '/cellpay.v1.Payments/Refund' }, 'signature_mismatch'],
    ['another key ID', { keyId: 'key_merchant_2' }, 'signature_mismatch'],
    ['another nonce', { nonce: 'nonce-ffffffffffffffff' }, 'signature_mismatch'],
    [
      'a timestamp over five minutes old',
      { timestampMs: now - 5 * 60 * 1000 - 1 },
      'timestamp_outside_window',
    ],
    [
      'a timestamp over five minutes ahead',
      { timestampMs: now + 5 * 60 * 1000 + 1 },
      'timestamp_outside_window',
    ],
    ['a short nonce', { nonce: 'short' }, 'nonce_malformed'],
  ])('refuses %s', (_name, change, reason) => {
    const signature = signRequest(secret, parts);
    const altered = { ...parts, ...change };
    // Freshness is checked against the signer's clock; the signature over the altered parts differs.
    expect(verifyRequest(secret, altered, signature, now)).toEqual({ ok: false, reason });
  });

  it('refuses a signature made with another secret and a malformed one', () => {
    const forged = signRequest(Buffer.from('another-secret'), parts);
    expect(verifyRequest(secret, parts, forged, now)).toEqual({
      ok: false,
      reason: 'signature_mismatch',
    });
    expect(verifyRequest(secret, parts, 'not base64url!', now)).toEqual({
      ok: false,
      reason: 'signature_malformed',
    });
  });
});

describe('protoJsonView', () => {
  it('drops default scalars at every level so unset and default sign alike', () => {
    const view = protoJsonView({
      accountId: 'acc_1',
      cursor: '',
      pageSize: 0,
      amount: { amountMinor: '0', currency: '' },
    });
    expect(canonicalJson(view)).toBe(
      canonicalJson({ accountId: 'acc_1', amount: { amountMinor: '0' } }),
    );
  });
});
