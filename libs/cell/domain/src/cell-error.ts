import { MoneyError } from '@cellpay/money';

/**
 * Every way a cell operation can be refused, named after the rule that was broken. The gRPC edge
 * maps these codes to status codes in one place; domain code never throws transport errors.
 */
export enum CellErrorCode {
  InsufficientFunds = 'insufficient_funds',
  CurrencyMismatch = 'currency_mismatch',
  AmountMustBePositive = 'amount_must_be_positive',
  AmountExceedsLimit = 'amount_exceeds_limit',
  MalformedAmount = 'malformed_amount',
  AmountOutOfRange = 'amount_out_of_range',
  UnknownCurrency = 'unknown_currency',
  IdempotencyKeyReusedWithDifferentRequest = 'idempotency_key_reused_with_different_request',
  AccountNotFound = 'account_not_found',
  AccountKindNotAllowed = 'account_kind_not_allowed',
  SameAccount = 'same_account',
  PaymentNotFound = 'payment_not_found',
  HoldNotFound = 'hold_not_found',
  HoldExpired = 'hold_expired',
  CaptureExceedsAuthorized = 'capture_exceeds_authorized',
  RefundExceedsCaptured = 'refund_exceeds_captured',
  InvalidStateTransition = 'invalid_state_transition',
  MalformedId = 'malformed_id',
  MalformedField = 'malformed_field',
  FieldTooLong = 'field_too_long',
  FieldRequired = 'field_required',
  PageSizeExceedsLimit = 'page_size_exceeds_limit',
  JournalUnbalanced = 'journal_unbalanced',
  TransactionRetriesExhausted = 'transaction_retries_exhausted',
  /** The shard primary refused the write (fenced, read-only) or dropped the connection: retry. */
  ShardUnavailable = 'shard_unavailable',
  /**
   * The account's slot belongs to another cell at this cell's routing epoch (it moved away and
   * its account here is a zero-balance anchor): retry where the routing table now points.
   */
  SlotNotOwnedAtEpoch = 'slot_not_owned_at_epoch',
  /** The account's slot is frozen for a migration or a failover: retry once it is unfrozen. */
  SlotFrozen = 'slot_frozen',
}

export class CellError extends Error {
  constructor(
    readonly code: CellErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CellError';
  }
}

/** Money errors carry the same rule names; this lifts them into the cell's error type. */
export function toCellError(error: unknown): unknown {
  if (error instanceof MoneyError) {
    const code = Object.values(CellErrorCode).find((value) => value === String(error.code));
    if (code !== undefined) return new CellError(code, error.message);
  }
  return error;
}

/** Runs a pure check and reports money-rule violations as CellError. */
export function asCellRule<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw toCellError(error);
  }
}

/** A broken invariant is a programmer error: it must stop the operation, never be handled. */
export function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
