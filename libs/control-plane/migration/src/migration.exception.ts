/** Why a slot migration refused to start or stopped. */
export enum MigrationErrorCode {
  SlotsInvalid = 'slots_invalid',
  SlotNotOwnedBySource = 'slot_not_owned_by_source',
  TargetHasRowsInSlots = 'target_has_rows_in_slots',
  DeltaDidNotShrink = 'delta_did_not_shrink',
  TransactionsDidNotDrain = 'transactions_did_not_drain',
  /** A process that could write the moving slots did not report the freeze's epoch in time. */
  RoutingFollowersBehind = 'routing_followers_behind',
  SettlementInFlight = 'settlement_in_flight',
  VerificationFailed = 'verification_failed',
  ReconciliationFailed = 'reconciliation_failed',
  AbortedByOperator = 'aborted_by_operator',
  CleanFailedAfterFlip = 'clean_failed_after_flip',
}

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MigrationError';
  }
}
