/** Why a failover operation stopped. Each code reads like the rule that was broken. */
export enum FailoverErrorCode {
  replicaNotReplicatingFromPrimary = 'replica_not_replicating_from_primary',
  fenceNotAcquired = 'fence_not_acquired',
  replicaCatchUpTimedOut = 'replica_catch_up_timed_out',
  replicaMayMissAcknowledgedTransactions = 'replica_may_miss_acknowledged_transactions',
  relayLogNotApplied = 'relay_log_not_applied',
  primaryStillAlive = 'primary_still_alive',
  stepTimedOut = 'step_timed_out',
  oldPrimaryDidNotReturn = 'old_primary_did_not_return',
  oldPrimaryDiverged = 'old_primary_diverged',
  rejoinFailed = 'rejoin_failed',
}

export class FailoverException extends Error {
  constructor(
    readonly code: FailoverErrorCode,
    message: string,
    /** The numbers behind the decision, for the operator and the report. */
    readonly facts: Readonly<Record<string, string | number | boolean>> = {},
  ) {
    super(`${code}: ${message}`);
    this.name = 'FailoverException';
  }
}
