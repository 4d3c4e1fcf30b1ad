/** Every bound of a slot migration, named. Defaults in `migrationLimitsDefault`. */
export interface MigrationLimits {
  /** Rows read per page and written per target transaction. */
  readonly batchSizeMax: number;
  /** Catch-up rounds after the bulk copy before the migration gives up on a shrinking delta. */
  readonly catchUpRoundsMax: number;
  /** The slots are frozen once a round writes at most this many rows. */
  readonly freezeDeltaRowsMax: number;
  /** After the freeze, how long the cells' routing followers get to see it (they follow within 1 s). */
  readonly freezeSettleMs: number;
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
  drainMsMax: 10_000,
  lockWaitSeconds: 10,
  journalsMax: 2_000_000,
  mismatchesListedMax: 100,
};
