/** Every bound of a slot migration, named. Defaults in `migrationLimitsDefault`. */
export interface MigrationLimits {
  /** Rows read per page and written per target transaction. */
  readonly batchSizeMax: number;
  /** Catch-up rounds after the bulk copy before the migration gives up on a shrinking delta. */
  readonly catchUpRoundsMax: number;
  /** The slots are frozen once a round writes at most this many rows. */
  readonly freezeDeltaRowsMax: number;
  /**
   * After the freeze, how long to wait blindly for the cells' routing followers when no process
   * can be asked for its epoch (no `routingEpochReaders`); they follow within 1 s.
   */
  readonly freezeSettleMs: number;
  /**
   * After the freeze, how long every process that could write the moving slots gets to report
   * the freeze's epoch (`GET /routing`); one still behind, or one that cannot be asked, fails
   * the migration before anything is locked.
   */
  readonly followersWaitMsMax: number;
  /** Pause between two rounds of asking the processes still behind. */
  readonly followersPollIntervalMs: number;
  /** How long to wait for source transactions begun before the freeze took effect. */
  readonly drainMsMax: number;
  /** `innodb_lock_wait_timeout` of the migrator's own sessions. */
  readonly lockWaitSeconds: number;
  /** Journals touching the moving accounts that one migration will handle; more is refused. */
  readonly journalsMax: number;
  /** Differences listed in a verification report (the count goes on). */
  readonly mismatchesListedMax: number;
}

export const migrationLimitsDefault: MigrationLimits = {
  batchSizeMax: 500,
  catchUpRoundsMax: 10,
  freezeDeltaRowsMax: 200,
  freezeSettleMs: 1_500,
  followersWaitMsMax: 5_000,
  followersPollIntervalMs: 100,
  drainMsMax: 10_000,
  lockWaitSeconds: 10,
  journalsMax: 2_000_000,
  mismatchesListedMax: 100,
};
