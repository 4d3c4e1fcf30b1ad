import type { CurveSecond, LatencyPercentiles, SettlementLagPercentiles } from '../report/curve';
import { okStatus } from '../target/load-target';
import { BoundedSample } from './bounded-sample';
import type { RandomSource } from './seeded-random';

/** Distinct error statuses kept by name; the rest are counted under `other`. */
export const statusKindsMax = 32;
/** Latencies kept per second (and settlement lags per second) for exact percentiles. */
export const perSecondSampleSizeMax = 20_000;
/** Latencies kept for the whole run's percentiles. */
export const runSampleSizeMax = 500_000;

const statusPattern = /^[A-Za-z0-9_.-]{1,64}$/;
export const otherStatus = 'other';

class SecondBucket {
  offered = 0;
  dropped = 0;
  ok = 0;
  dispatchLagMsMax = 0;
  readonly errors = new Map<string, number>();
  latency: BoundedSample | undefined;
  settlementLag: BoundedSample | undefined;
}

/**
 * Collects the run second by second: arrivals by their scheduled second, completions and
 * settlement lags by the second they happened in. Memory is bounded: one bucket per second of the
 * run (the number of seconds is fixed at construction), bounded samples, bounded status names.
 */
export class PerSecondRecorder {
  private readonly buckets: SecondBucket[];
  private readonly statuses = new Set<string>();
  private readonly runLatency: BoundedSample;
  private readonly runSettlementLag: BoundedSample;
  private lastSecondSeen = 0;
  dispatchLagMsMax = 0;
  readonly totals = { offered: 0, dropped: 0, ok: 0, errors: 0, settlementUnsettled: 0 };
  readonly errorsByStatus = new Map<string, number>();

  constructor(
    readonly secondsMax: number,
    private readonly random: RandomSource,
  ) {
    this.buckets = Array.from({ length: secondsMax }, () => new SecondBucket());
    this.runLatency = new BoundedSample(runSampleSizeMax, random);
    this.runSettlementLag = new BoundedSample(runSampleSizeMax, random);
  }

  recordOffered(second: number): void {
    this.bucket(second).offered += 1;
    this.totals.offered += 1;
  }

  recordDropped(second: number): void {
    this.bucket(second).dropped += 1;
    this.totals.dropped += 1;
  }

  /** How late the generator started an arrival scheduled in `second`. */
  recordDispatchLag(second: number, lagMs: number): void {
    const bucket = this.bucket(second);
    if (lagMs > bucket.dispatchLagMsMax) bucket.dispatchLagMsMax = lagMs;
    if (lagMs > this.dispatchLagMsMax) this.dispatchLagMsMax = lagMs;
  }

  recordCompletion(second: number, status: string, latencyMs: number): void {
    const bucket = this.bucket(second);
    if (status === okStatus) {
      bucket.ok += 1;
      this.totals.ok += 1;
      bucket.latency ??= new BoundedSample(perSecondSampleSizeMax, this.random);
      bucket.latency.add(latencyMs);
      this.runLatency.add(latencyMs);
      return;
    }
    const name = this.statusName(status);
    bucket.errors.set(name, (bucket.errors.get(name) ?? 0) + 1);
    this.errorsByStatus.set(name, (this.errorsByStatus.get(name) ?? 0) + 1);
    this.totals.errors += 1;
  }

  recordSettlementLag(second: number, lagMs: number): void {
    const bucket = this.bucket(second);
    bucket.settlementLag ??= new BoundedSample(perSecondSampleSizeMax, this.random);
    bucket.settlementLag.add(lagMs);
    this.runSettlementLag.add(lagMs);
  }

  /** A followed settlement that never settled within the target's bound: counted, no lag. */
  recordSettlementUnsettled(): void {
    this.totals.settlementUnsettled += 1;
  }

  /** Ok operations completed in `second` (for the progress line). */
  okIn(second: number): number {
    return this.buckets[this.index(second)]?.ok ?? 0;
  }

  /** The curve from second 0 to the last second anything happened in. */
  curve(): CurveSecond[] {
    return this.buckets.slice(0, this.lastSecondSeen + 1).map((bucket, second) => {
      let errorCount = 0;
      for (const count of bucket.errors.values()) errorCount += count;
      return {
        second,
        offered: bucket.offered,
        throughput: bucket.ok,
        errors: Object.fromEntries(bucket.errors),
        errorCount,
        dropped: bucket.dropped,
        latencyMs: latencyOf(bucket.latency),
        settlementLagMs: settlementLagOf(bucket.settlementLag),
        dispatchLagMsMax: bucket.dispatchLagMsMax,
      };
    });
  }

  runLatencyMs(): LatencyPercentiles | null {
    return latencyOf(this.runLatency);
  }

  runSettlementLagMs(): SettlementLagPercentiles | null {
    return settlementLagOf(this.runSettlementLag);
  }

  private statusName(status: string): string {
    if (this.statuses.has(status)) return status;
    if (!statusPattern.test(status) || this.statuses.size >= statusKindsMax) return otherStatus;
    this.statuses.add(status);
    return status;
  }

  private bucket(second: number): SecondBucket {
    const index = this.index(second);
    if (index > this.lastSecondSeen) this.lastSecondSeen = index;
    const bucket = this.buckets[index];
    if (bucket === undefined) throw new Error(`no bucket for second ${index}`);
    return bucket;
  }

  /** Seconds past the end (a late completion) fold into the last bucket rather than grow memory. */
  private index(second: number): number {
    return Math.min(this.secondsMax - 1, Math.max(0, Math.floor(second)));
  }
}

function latencyOf(sample: BoundedSample | undefined): LatencyPercentiles | null {
  if (sample === undefined || sample.count === 0) return null;
  const [p50 = 0, p95 = 0, p99 = 0] = sample.percentiles([0.5, 0.95, 0.99]);
  return { p50, p95, p99, max: sample.max };
}

function settlementLagOf(sample: BoundedSample | undefined): SettlementLagPercentiles | null {
  if (sample === undefined || sample.count === 0) return null;
  const [p50 = 0, p99 = 0] = sample.percentiles([0.5, 0.99]);
  return { count: sample.count, p50, p99, max: sample.max };
}
