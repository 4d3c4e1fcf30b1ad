import { Metadata, type ServiceError, status } from '@grpc/grpc-js';

import { CellUnavailableError, GatewayError, GatewayErrorCode } from '@cellpay/gateway-edge';
import { encodeErrorStatus } from '@cellpay/proto';

import { CellAddressUnknownError } from './cell-client';

/** The one table from the gateway's own refusals to gRPC status codes. */
export const gatewayStatusOf: Readonly<Record<GatewayErrorCode, status>> = {
  [GatewayErrorCode.SignatureMissing]: status.UNAUTHENTICATED,
  [GatewayErrorCode.SignatureMalformed]: status.UNAUTHENTICATED,
  [GatewayErrorCode.SignatureMismatch]: status.UNAUTHENTICATED,
  [GatewayErrorCode.TimestampOutsideWindow]: status.UNAUTHENTICATED,
  [GatewayErrorCode.NonceMalformed]: status.UNAUTHENTICATED,
  [GatewayErrorCode.NonceReused]: status.UNAUTHENTICATED,
  [GatewayErrorCode.CredentialUnknown]: status.UNAUTHENTICATED,
  [GatewayErrorCode.ScopeMissing]: status.PERMISSION_DENIED,
  [GatewayErrorCode.StressTrafficNotAllowed]: status.PERMISSION_DENIED,
  [GatewayErrorCode.StressTrafficRejected]: status.UNAVAILABLE,
  [GatewayErrorCode.StressMarkMalformed]: status.INVALID_ARGUMENT,
  [GatewayErrorCode.RequestIdMalformed]: status.INVALID_ARGUMENT,
  [GatewayErrorCode.RateLimited]: status.RESOURCE_EXHAUSTED,
  [GatewayErrorCode.MethodUnknown]: status.UNIMPLEMENTED,
  [GatewayErrorCode.MalformedId]: status.INVALID_ARGUMENT,
  [GatewayErrorCode.FieldRequired]: status.INVALID_ARGUMENT,
  [GatewayErrorCode.SlotFrozen]: status.UNAVAILABLE,
  [GatewayErrorCode.CellUnavailable]: status.UNAVAILABLE,
  [GatewayErrorCode.RoutingStale]: status.UNAVAILABLE,
  [GatewayErrorCode.CrossCellAuthorizationNotSupported]: status.FAILED_PRECONDITION,
  [GatewayErrorCode.Internal]: status.INTERNAL,
};

export type GatewayServiceError = Pick<ServiceError, 'code' | 'details' | 'metadata'> & Error;

function refusal(
  code: status,
  message: string,
  reason: string,
  facts: Readonly<Record<string, string>> = {},
): GatewayServiceError {
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', encodeErrorStatus(code, message, reason, facts));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

/**
 * Every error leaving a public handler passes here. The gateway's own refusals and an unavailable
 * cell get their status and an ErrorInfo; a cell's answer passes through with its status and its
 * ErrorInfo untouched; anything else is INTERNAL without details (and the caller logs it).
 */
export function toGatewayServiceError(error: unknown): GatewayServiceError {
  if (error instanceof GatewayError) {
    return refusal(gatewayStatusOf[error.code], error.message, error.code, error.metadata);
  }
  if (error instanceof CellUnavailableError || error instanceof CellAddressUnknownError) {
    const reason = error instanceof CellUnavailableError ? error.reason : 'cell_address_unknown';
    return refusal(
      status.UNAVAILABLE,
      `${error.cellId} is unavailable (${reason})`,
      GatewayErrorCode.CellUnavailable,
      { cell: error.cellId, cause: reason },
    );
  }
  const cellError = error as Partial<ServiceError>;
  if (typeof cellError.code === 'number' && cellError.metadata instanceof Metadata) {
    const details = cellError.metadata.get('grpc-status-details-bin')[0];
    if (Buffer.isBuffer(details)) {
      const metadata = new Metadata();
      metadata.set('grpc-status-details-bin', details);
      return Object.assign(new Error(cellError.details ?? ''), {
        code: cellError.code,
        details: cellError.details ?? '',
        metadata,
      });
    }
    if (cellError.code === status.UNAVAILABLE || cellError.code === status.DEADLINE_EXCEEDED) {
      return refusal(
        status.UNAVAILABLE,
        'the cell did not answer',
        GatewayErrorCode.CellUnavailable,
        { cause: cellError.code === status.UNAVAILABLE ? 'unreachable' : 'deadline' },
      );
    }
  }
  return refusal(status.INTERNAL, 'internal error', GatewayErrorCode.Internal);
}
