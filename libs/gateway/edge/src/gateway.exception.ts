/** Why the gateway refused a request, named after the rule that was broken. */
export enum GatewayErrorCode {
  SignatureMissing = 'signature_missing',
  SignatureMalformed = 'signature_malformed',
  SignatureMismatch = 'signature_mismatch',
  TimestampOutsideWindow = 'timestamp_outside_window',
  NonceMalformed = 'nonce_malformed',
  NonceReused = 'nonce_reused',
  CredentialUnknown = 'credential_unknown',
  ScopeMissing = 'scope_missing',
  StressTrafficNotAllowed = 'stress_traffic_not_allowed',
  StressTrafficRejected = 'stress_traffic_rejected',
  /** The stress mark is neither `1` nor `0`: guessing could send stress traffic to live tables. */
  StressMarkMalformed = 'stress_mark_malformed',
  /** `x-request-id` is not 1 to 128 characters of `[A-Za-z0-9_.:-]`. */
  RequestIdMalformed = 'request_id_malformed',
  RateLimited = 'rate_limited',
  MethodUnknown = 'method_unknown',
  /** An ID in the request is not one the platform hands out (so it has no slot to route by). */
  MalformedId = 'malformed_id',
  FieldRequired = 'field_required',
  /** The slot is frozen for a failover or migration; retry shortly. */
  SlotFrozen = 'slot_frozen',
  /** The cell is down, its breaker is open, or it answered too slowly. */
  CellUnavailable = 'cell_unavailable',
  /** The routing table moved and the cell still refused after one refresh and retry. */
  RoutingStale = 'routing_stale',
  /**
   * An authorization freezes funds for a later capture; across cells that would need a hold
   * protocol between two shards, which settlement does not have. Pay in one step instead.
   */
  CrossCellAuthorizationNotSupported = 'cross_cell_authorization_not_supported',
  Internal = 'internal',
}

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    /** Extra machine-readable facts for the error details (never secrets). */
    readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}
