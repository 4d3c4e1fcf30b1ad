import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { canonicalJson } from './canonical-json';

/** gRPC metadata keys carrying a signed request's credentials. */
export const signatureHeaders = {
  keyId: 'x-cellpay-key-id',
  timestamp: 'x-cellpay-timestamp',
  nonce: 'x-cellpay-nonce',
  signature: 'x-cellpay-signature',
} as const;

export const signatureAlgorithm = 'CELLPAY-HMAC-SHA256';
/** How far a request's timestamp may be from the verifier's clock, either way. */
export const signatureWindowMs = 5 * 60 * 1000;
export const nonceLengthMin = 16;
export const nonceLengthMax = 64;

export interface SignedParts {
  /** The full gRPC method path, e.g. `/cellpay.v1.Payments/Pay`. */
  readonly method: string;
  readonly keyId: string;
  readonly timestampMs: number;
  readonly nonce: string;
  /** The request message (proto3 JSON view, defaults omitted); see canonicalJson. */
  readonly body: unknown;
}

/**
 * The exact bytes that are signed, one field per line. The key ID is included so a signature made
 * with one credential can never be replayed under another credential's name.
 */
export function stringToSign(parts: SignedParts): string {
  const bodyDigest = createHash('sha256').update(canonicalJson(parts.body), 'utf8').digest('hex');
  return [
    signatureAlgorithm,
    parts.method,
    parts.keyId,
    String(parts.timestampMs),
    parts.nonce,
    bodyDigest,
  ].join('\n');
}

/** HMAC-SHA256 of the string to sign, base64url without padding. */
export function signRequest(secret: Buffer, parts: SignedParts): string {
  return createHmac('sha256', secret).update(stringToSign(parts), 'utf8').digest('base64url');
}

export type SignatureCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason:
        | 'signature_malformed'
        | 'signature_mismatch'
        | 'timestamp_outside_window'
        | 'nonce_malformed';
    };

/**
 * Checks a signature and the request's freshness; it does not check nonce reuse, which needs a
 * shared store (the caller claims the nonce only after this passes, so forged requests cannot fill
 * the store). The comparison is constant-time.
 */
export function verifyRequest(
  secret: Buffer,
  parts: SignedParts,
  signature: string,
  nowMs: number,
): SignatureCheck {
  if (!/^[A-Za-z0-9_-]{43}$/.test(signature)) return { ok: false, reason: 'signature_malformed' };
  if (
    parts.nonce.length < nonceLengthMin ||
    parts.nonce.length > nonceLengthMax ||
    !/^[A-Za-z0-9_-]+$/.test(parts.nonce)
  ) {
    return { ok: false, reason: 'nonce_malformed' };
  }
  if (
    !Number.isSafeInteger(parts.timestampMs) ||
    Math.abs(nowMs - parts.timestampMs) > signatureWindowMs
  ) {
    return { ok: false, reason: 'timestamp_outside_window' };
  }
  const expected = Buffer.from(signRequest(secret, parts), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'signature_mismatch' };
  }
  return { ok: true };
}
