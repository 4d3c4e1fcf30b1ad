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
  RateLimited = 'rate_limited',
  MethodUnknown = 'method_unknown',
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
