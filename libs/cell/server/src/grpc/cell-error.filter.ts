import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { Metadata, status } from '@grpc/grpc-js';
import { type Observable, throwError } from 'rxjs';

import { CellError, CellErrorCode, SlotNotWritableError, toCellError } from '@cellpay/cell-domain';
import type { Logger } from '@cellpay/observability';

import { cellOverloadedReason, encodeErrorStatus } from '@cellpay/proto';
import { cellEpochDetailKey } from '@cellpay/routing';

import { AdmissionRefusal } from './admission.interceptor';
import { SlotOwnershipError } from './slot-ownership.guard';

/** The one table from the cell's rule codes to gRPC status codes. */
export const grpcStatusOf: Readonly<Record<CellErrorCode, status>> = {
  [CellErrorCode.AmountMustBePositive]: status.INVALID_ARGUMENT,
  [CellErrorCode.AmountExceedsLimit]: status.INVALID_ARGUMENT,
  [CellErrorCode.MalformedAmount]: status.INVALID_ARGUMENT,
  [CellErrorCode.AmountOutOfRange]: status.INVALID_ARGUMENT,
  [CellErrorCode.UnknownCurrency]: status.INVALID_ARGUMENT,
  [CellErrorCode.CurrencyMismatch]: status.INVALID_ARGUMENT,
  [CellErrorCode.MalformedId]: status.INVALID_ARGUMENT,
  [CellErrorCode.MalformedField]: status.INVALID_ARGUMENT,
  [CellErrorCode.FieldTooLong]: status.INVALID_ARGUMENT,
  [CellErrorCode.FieldRequired]: status.INVALID_ARGUMENT,
  [CellErrorCode.PageSizeExceedsLimit]: status.INVALID_ARGUMENT,
  [CellErrorCode.AccountKindNotAllowed]: status.INVALID_ARGUMENT,
  [CellErrorCode.SameAccount]: status.INVALID_ARGUMENT,
  [CellErrorCode.AccountNotFound]: status.NOT_FOUND,
  [CellErrorCode.PaymentNotFound]: status.NOT_FOUND,
  [CellErrorCode.HoldNotFound]: status.NOT_FOUND,
  [CellErrorCode.IdempotencyKeyReusedWithDifferentRequest]: status.ALREADY_EXISTS,
  [CellErrorCode.InsufficientFunds]: status.FAILED_PRECONDITION,
  [CellErrorCode.InvalidStateTransition]: status.FAILED_PRECONDITION,
  [CellErrorCode.HoldExpired]: status.FAILED_PRECONDITION,
  [CellErrorCode.CaptureExceedsAuthorized]: status.FAILED_PRECONDITION,
  [CellErrorCode.RefundExceedsCaptured]: status.FAILED_PRECONDITION,
  [CellErrorCode.TransactionRetriesExhausted]: status.ABORTED,
  [CellErrorCode.ShardUnavailable]: status.UNAVAILABLE,
  [CellErrorCode.SlotNotOwnedAtEpoch]: status.UNAVAILABLE,
  [CellErrorCode.SlotFrozen]: status.UNAVAILABLE,
  [CellErrorCode.JournalUnbalanced]: status.INTERNAL,
};

/** Overload is RESOURCE_EXHAUSTED; the stress switch is UNAVAILABLE, as at the gateway. */
function admissionRefusalStatus(error: AdmissionRefusal): status {
  return error.reason === cellOverloadedReason ? status.RESOURCE_EXHAUSTED : status.UNAVAILABLE;
}

/**
 * The status a handler's error leaves the cell with, without building the response: for the
 * request counters, which see the error before the filter does.
 */
export function grpcStatusOfError(error: unknown): status {
  if (error instanceof CellError) return grpcStatusOf[error.code];
  if (error instanceof AdmissionRefusal) return admissionRefusalStatus(error);
  if (error instanceof SlotOwnershipError) return status.UNAVAILABLE;
  return status.INTERNAL;
}

/** A refusal of a module composed into the cell (e.g. settlement) that the cell core has no code for. */
export interface ExtensionRefusal {
  readonly code: status;
  readonly reason: string;
  readonly message: string;
}

/** Recognizes the refusals of one composed module; undefined for any other error. */
export type ExtensionErrorMapper = (error: unknown) => ExtensionRefusal | undefined;

export interface GrpcErrorResponse {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

export function grpcErrorOf(
  error: unknown,
  extensionMappers: readonly ExtensionErrorMapper[] = [],
): GrpcErrorResponse {
  const metadata = new Metadata();
  for (const mapper of extensionMappers) {
    const refusal = mapper(error);
    if (refusal === undefined) continue;
    metadata.set(
      'grpc-status-details-bin',
      encodeErrorStatus(refusal.code, refusal.message, refusal.reason),
    );
    return { code: refusal.code, details: refusal.message, metadata };
  }
  if (error instanceof AdmissionRefusal) {
    // Overload is RESOURCE_EXHAUSTED (docs/decisions.md item 34): an answer of a healthy cell at its
    // bound, which a breaker must not count and a client retries after a pause, never at once.
    const code = admissionRefusalStatus(error);
    const facts: Record<string, string> = { cause: error.refusalCause };
    if (error.retryAfterMs !== undefined) facts['retryAfterMs'] = String(error.retryAfterMs);
    metadata.set(
      'grpc-status-details-bin',
      encodeErrorStatus(code, error.message, error.reason, facts),
    );
    return { code, details: error.message, metadata };
  }
  if (error instanceof SlotOwnershipError) {
    // UNAVAILABLE: the call was not applied and may be retried once the router caught up.
    metadata.set(
      'grpc-status-details-bin',
      encodeErrorStatus(status.UNAVAILABLE, error.message, error.reason, {
        [cellEpochDetailKey]: error.cellEpoch.toString(),
      }),
    );
    return { code: status.UNAVAILABLE, details: error.message, metadata };
  }
  const lifted = toCellError(error);
  if (!(lifted instanceof CellError)) {
    // Anything that is not a rule of the domain is a fault of ours: say so without leaking details.
    metadata.set(
      'grpc-status-details-bin',
      encodeErrorStatus(status.INTERNAL, 'internal error', 'internal'),
    );
    return { code: status.INTERNAL, details: 'internal error', metadata };
  }
  const code = grpcStatusOf[lifted.code];
  // The ledger's slot refusals carry the cell's epoch like the guard's, so a gateway refreshes
  // its table and routes the retry anew.
  const details =
    lifted instanceof SlotNotWritableError
      ? { [cellEpochDetailKey]: lifted.cellEpoch.toString() }
      : undefined;
  metadata.set(
    'grpc-status-details-bin',
    encodeErrorStatus(code, lifted.message, lifted.code, details),
  );
  return { code, details: lifted.message, metadata };
}

/**
 * Every error leaving a gRPC handler passes here: domain refusals become their status code with
 * the rule in google.rpc.ErrorInfo; anything else is INTERNAL and logged.
 */
@Catch()
export class CellErrorFilter implements RpcExceptionFilter<unknown> {
  constructor(
    private readonly logger: Logger,
    private readonly extensionMappers: readonly ExtensionErrorMapper[] = [],
  ) {}

  catch(exception: unknown): Observable<never> {
    const response = grpcErrorOf(exception, this.extensionMappers);
    if (response.code === status.INTERNAL) {
      this.logger.error({ err: exception }, 'unexpected error in a gRPC handler');
    }
    return throwError(() => response);
  }
}
