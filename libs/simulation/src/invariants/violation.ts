/** The invariants the simulator checks; each name is the rule that was broken. */
export enum InvariantName {
  JournalBalanced = 'journal_balanced',
  BalanceNotBelowFloor = 'balance_not_below_floor',
  GlobalSumEqualsInMinusOut = 'global_sum_equals_in_minus_out',
  ClearingNetsToInFlight = 'clearing_nets_to_money_in_flight',
  ClearingZeroWhenQuiet = 'clearing_zero_when_quiet',
  AppliedExactlyOnce = 'acknowledged_operation_applied_exactly_once',
  BalanceMatchesAppliedOperations = 'balance_matches_applied_operations',
  IdempotentRetryReturnsOriginal = 'idempotent_retry_returns_original_result',
  SlotOwnedAtEpoch = 'slot_owned_by_applying_cell_at_epoch',
  CellReconciliationClean = 'cell_reconciliation_clean',
  QuiescenceReached = 'quiescence_reached',
  /** Code under simulation threw something no caller handles: a bug, shrunk and replayed like any. */
  NoUnexpectedError = 'no_unexpected_error',
}

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
  /** Virtual time of the check that found it. */
  readonly atMs: number;
}

/** Collects violations; the run stops after the event during which the first one was found. */
export class ViolationLog {
  readonly violations: Violation[] = [];
  private readonly violationsMax = 20;

  constructor(private readonly nowMs: () => number) {}

  report(invariant: InvariantName, detail: string): void {
    if (this.violations.length >= this.violationsMax) return;
    this.violations.push({ invariant, detail, atMs: this.nowMs() });
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }
}
