/** Every wait of a failover has a named bound; callers may tighten or widen them per operation. */
export interface FailoverLimits {
  /** Time transactions open at the fence get to finish before their connections are killed. */
  readonly fenceGraceMs: number;
  /** Upper bound on the fence step (the read_only lock wait, the grace, the kills). */
  readonly fenceMs: number;
  /** Upper bound on the replica applying every transaction the fenced primary has. */
  readonly catchUpMs: number;
  /** Upper bound on replication commands (stop, reset, change master, start). */
  readonly replicationCommandMs: number;
  /** Upper bound on waiting for the new replica's IO thread and semi-sync acknowledgement. */
  readonly attachMs: number;
  /** Upper bound on each caller hook. */
  readonly hookMs: number;
  readonly pollIntervalMs: number;
  /**
   * Unplanned only: how much older than the first failed probe the monitor's last observation of
   * the primary may be for its semi-sync history to vouch for the moment of the death. The
   * monitor's default pace leaves under a second between them.
   */
  readonly observationAgeMsMax: number;
}

export const failoverLimitsDefault: FailoverLimits = {
  fenceGraceMs: 500,
  fenceMs: 15_000,
  catchUpMs: 30_000,
  replicationCommandMs: 15_000,
  attachMs: 15_000,
  hookMs: 10_000,
  pollIntervalMs: 50,
  observationAgeMsMax: 2_000,
};
