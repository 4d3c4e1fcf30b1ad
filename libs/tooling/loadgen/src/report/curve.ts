/** Latency percentiles in milliseconds, or null in a second where nothing completed. */
export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface SettlementLagPercentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** One point of the per-second curve. */
export interface CurveSecond {
  /** Seconds since the start of the run. */
  readonly second: number;
  /** Arrivals scheduled in this second (started or dropped). */
  readonly offered: number;
  /** Operations that completed with `ok` in this second. */
  readonly throughput: number;
  /** Operations that completed with an error in this second, by status. */
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
  /** Arrivals of this second refused because the in-flight limit was reached. */
  readonly dropped: number;
  /** Latency (scheduled arrival -> completion) of the `ok` operations completed in this second. */
  readonly latencyMs: LatencyPercentiles | null;
  /**
   * Settlement lags (acknowledgement -> settled) of the payments that settled in this second, in
   * milliseconds; null when none settled in it.
   */
  readonly settlementLagMs: SettlementLagPercentiles | null;
  /**
   * The longest an arrival of this second waited for the generator to start it, in ms. Above a
   * few milliseconds the generator itself was starved of CPU: the latency of that second includes
   * the wait (it is measured from the scheduled time), so read the two together.
   */
  readonly dispatchLagMsMax: number;
}

export interface RunSummary {
  readonly target: string;
  readonly profile: string;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly startedAt: string;
  readonly elapsedSeconds: number;
  readonly scheduled: number;
  readonly started: number;
  readonly ok: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
  readonly dropped: number;
  /** Operations still in flight when the drain timeout ran out; they count as neither. */
  readonly unfinished: number;
  /** Whether the run was stopped before its end (Ctrl-C); the curve then ends early. */
  readonly interrupted: boolean;
  readonly latencyMs: LatencyPercentiles | null;
  readonly settlementLagMs: SettlementLagPercentiles | null;
  /** Followed payments not seen settled within the target's bound (they have no lag). */
  readonly settlementUnsettled: number;
  /** The longest any arrival waited for the generator to start it, in ms. */
  readonly dispatchLagMsMax: number;
}

export interface LoadRunReport {
  readonly summary: RunSummary;
  readonly seconds: readonly CurveSecond[];
}
