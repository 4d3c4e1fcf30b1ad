import {
  isValidRequestId,
  newRequestId,
  requestContextMetadata,
  requestIdLengthMax,
} from '@cellpay/observability';

import { GatewayError, GatewayErrorCode } from './gateway.exception';

/**
 * The request ID of a public call: the caller's `x-request-id` when it sends one (so its own logs
 * and ours share the ID), else a fresh one. A malformed ID is refused, not replaced: the caller
 * would otherwise search its logs for an ID we never used.
 */
export function requestIdOf(headers: Readonly<Record<string, string | undefined>>): string {
  const given = headers[requestContextMetadata.requestId];
  if (given === undefined) return newRequestId();
  if (!isValidRequestId(given)) {
    throw new GatewayError(
      GatewayErrorCode.RequestIdMalformed,
      `${requestContextMetadata.requestId} must be 1 to ${requestIdLengthMax} characters of [A-Za-z0-9_.:-]`,
    );
  }
  return given;
}
