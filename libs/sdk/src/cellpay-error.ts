import { type ServiceError, status } from '@grpc/grpc-js';

import { decodeErrorStatus } from '@cellpay/proto';

/** A refusal from the platform: the gRPC status, and the rule that was broken (ErrorInfo reason). */
export class CellpayError extends Error {
  constructor(
    readonly code: status,
    readonly reason: string,
    message: string,
    /** Machine-readable facts from the ErrorInfo (e.g. retryAfterMs, cell). */
    readonly facts: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'CellpayError';
  }

  /** The status name, e.g. `FAILED_PRECONDITION`. */
  get codeName(): string {
    return status[this.code] ?? String(this.code);
  }
}

export function toCellpayError(error: unknown): CellpayError {
  const serviceError = error as Partial<ServiceError>;
  const code = typeof serviceError.code === 'number' ? serviceError.code : status.UNKNOWN;
  const details = serviceError.metadata?.get('grpc-status-details-bin')[0];
  if (Buffer.isBuffer(details)) {
    try {
      const decoded = decodeErrorStatus(details);
      return new CellpayError(code, decoded.reason, decoded.message, decoded.metadata);
    } catch {
      // A trailer we cannot read: fall through to the plain status below.
    }
  }
  const message = serviceError.details ?? (error instanceof Error ? error.message : String(error));
  return new CellpayError(code, status[code]?.toLowerCase() ?? 'unknown', message, {});
}
