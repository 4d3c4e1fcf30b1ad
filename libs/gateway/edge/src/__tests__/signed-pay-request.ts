import { signatureHeaders, signRequest } from '@cellpay/signing';

import type { IncomingRequest } from '../authenticator';

export const payMethod = '/cellpay.v1.Payments/Pay';

/** A Pay request signed with `secret`, as a merchant SDK would send it, plus any extra headers. */
export function signedPayRequest(
  keyId: string,
  secret: Buffer,
  nonce: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): IncomingRequest {
  const timestampMs = Date.now();
  const body = { outTradeNo: nonce, amount: { amountMinor: '100', currency: 'CNY' } };
  return {
    method: payMethod,
    body,
    headers: {
      [signatureHeaders.keyId]: keyId,
      [signatureHeaders.timestamp]: String(timestampMs),
      [signatureHeaders.nonce]: nonce,
      [signatureHeaders.signature]: signRequest(secret, {
        method: payMethod,
        keyId,
        timestampMs,
        nonce,
        body,
      }),
      ...extraHeaders,
    },
  };
}
