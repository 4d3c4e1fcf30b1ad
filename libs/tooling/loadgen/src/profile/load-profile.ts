/** One piece of a profile: the arrival rate goes linearly from `startRate` to `endRate`. */
export interface ProfileSegment {
  readonly label: string;
  readonly durationSeconds: number;
  /** Arrivals per second at the start of the segment. */
  readonly startRate: number;
  /** Arrivals per second at the end of the segment (equal to `startRate` for a flat segment). */
  readonly endRate: number;
}

export type ProfileKind = 'constant' | 'step' | 'peak';
export const profileKinds: readonly ProfileKind[] = ['constant', 'step', 'peak'];

/**
 * The shape of the peak-day profile, as fractions of the run and of the plateau rate: a quiet
 * evening, the cliff at T0 ("midnight") where the rate jumps to the plateau at once, the plateau,
 * then a linear decay. Kept as data so the documentation and the chart can quote it.
 */
export const peakShape = {
  quietDurationFraction: 0.25,
  quietRateFraction: 0.1,
  plateauDurationFraction: 0.35,
  decayEndRateFraction: 0.3,
} as const;

export interface ProfileRequest {
  readonly kind: ProfileKind;
  /** The top rate, in arrivals per second: the constant rate, the last step, the plateau. */
  readonly rate: number;
  readonly durationSeconds: number;
  /** Number of equal steps from rate/steps up to rate (`step` only). */
  readonly steps?: number;
}

/**
 * An arrival schedule: a sequence of linear-rate segments. Arrival n (0-based) is due at the time
 * when the cumulative expected arrivals reach n, so the schedule is exact and independent of how
 * fast the target answers (open loop).
 */
export class LoadProfile {
  readonly durationSeconds: number;
  /** Arrivals the whole run schedules. */
  readonly arrivalCount: number;
  private readonly segmentStartsSeconds: number[] = [];
  private readonly segmentStartArrivals: number[] = [];

  constructor(
    readonly kind: ProfileKind,
    readonly segments: readonly ProfileSegment[],
  ) {
    if (segments.length === 0) throw new Error('a profile needs at least one segment');
    let startSeconds = 0;
    let startArrivals = 0;
    for (const segment of segments) {
      if (!(segment.durationSeconds > 0)) throw new Error(`segment ${segment.label}: no duration`);
      if (!(segment.startRate >= 0 && segment.endRate >= 0)) {
        throw new Error(`segment ${segment.label}: negative rate`);
      }
      this.segmentStartsSeconds.push(startSeconds);
      this.segmentStartArrivals.push(startArrivals);
      startSeconds += segment.durationSeconds;
      startArrivals += ((segment.startRate + segment.endRate) / 2) * segment.durationSeconds;
    }
    this.durationSeconds = startSeconds;
    this.arrivalCount = Math.floor(startArrivals + 1e-9);
  }

  /** The scheduled arrival rate at `seconds` into the run (0 outside the run). */
  rateAt(seconds: number): number {
    const index = this.segmentIndexAt(seconds);
    if (index === undefined) return 0;
    const segment = this.segmentAt(index);
    const into = seconds - (this.segmentStartsSeconds[index] ?? 0);
    return (
      segment.startRate + ((segment.endRate - segment.startRate) * into) / segment.durationSeconds
    );
  }

  /** Expected arrivals in [0, seconds): the integral of the rate. */
  arrivalsBy(seconds: number): number {
    if (seconds <= 0) return 0;
    if (seconds >= this.durationSeconds) return this.arrivalCount;
    const index = this.segmentIndexAt(seconds) ?? 0;
    const segment = this.segmentAt(index);
    const into = seconds - (this.segmentStartsSeconds[index] ?? 0);
    const slope = (segment.endRate - segment.startRate) / segment.durationSeconds;
    return (
      (this.segmentStartArrivals[index] ?? 0) + segment.startRate * into + (slope * into * into) / 2
    );
  }

  /** How many arrivals are due by `seconds`: those whose scheduled time is at or before it. */
  arrivalsDueBy(seconds: number): number {
    if (seconds < 0) return 0;
    return Math.min(this.arrivalCount, Math.floor(this.arrivalsBy(seconds) + 1e-9) + 1);
  }

  /** The scheduled time of arrival `n` (0-based), in seconds: the inverse of `arrivalsBy`. */
  scheduledSecondsOf(n: number): number {
    let index = this.segments.length - 1;
    while (index > 0 && (this.segmentStartArrivals[index] ?? 0) > n) index -= 1;
    const segment = this.segmentAt(index);
    const remaining = n - (this.segmentStartArrivals[index] ?? 0);
    const slope = (segment.endRate - segment.startRate) / segment.durationSeconds;
    let into: number;
    if (Math.abs(slope) < 1e-12) {
      into = segment.startRate > 0 ? remaining / segment.startRate : 0;
    } else {
      // Solve startRate * t + slope * t^2 / 2 = remaining for the root inside the segment.
      const discriminant = Math.max(0, segment.startRate ** 2 + 2 * slope * remaining);
      into = (Math.sqrt(discriminant) - segment.startRate) / slope;
    }
    const clamped = Math.min(Math.max(into, 0), segment.durationSeconds);
    return (this.segmentStartsSeconds[index] ?? 0) + clamped;
  }

  private segmentIndexAt(seconds: number): number | undefined {
    if (seconds < 0 || seconds >= this.durationSeconds) return undefined;
    let index = this.segments.length - 1;
    while (index > 0 && (this.segmentStartsSeconds[index] ?? 0) > seconds) index -= 1;
    return index;
  }

  private segmentAt(index: number): ProfileSegment {
    const segment = this.segments[index];
    if (segment === undefined) throw new Error(`no profile segment ${index}`);
    return segment;
  }
}

/** Builds one of the named profiles; see docs/observability.md for the shapes. */
export function createProfile(request: ProfileRequest): LoadProfile {
  const { rate, durationSeconds } = request;
  if (!(rate > 0)) throw new Error('the rate must be above 0');
  if (!(durationSeconds > 0)) throw new Error('the duration must be above 0');
  switch (request.kind) {
    case 'constant':
      return new LoadProfile('constant', [
        { label: 'constant', durationSeconds, startRate: rate, endRate: rate },
      ]);
    case 'step': {
      const steps = request.steps ?? 5;
      if (!Number.isInteger(steps) || steps < 1)
        throw new Error('steps must be a positive integer');
      return new LoadProfile(
        'step',
        Array.from({ length: steps }, (_, index) => {
          const stepRate = (rate * (index + 1)) / steps;
          return {
            label: `step ${index + 1}`,
            durationSeconds: durationSeconds / steps,
            startRate: stepRate,
            endRate: stepRate,
          };
        }),
      );
    }
    case 'peak': {
      const quietSeconds = durationSeconds * peakShape.quietDurationFraction;
      const plateauSeconds = durationSeconds * peakShape.plateauDurationFraction;
      const decaySeconds = durationSeconds - quietSeconds - plateauSeconds;
      const quietRate = rate * peakShape.quietRateFraction;
      return new LoadProfile('peak', [
        { label: 'quiet', durationSeconds: quietSeconds, startRate: quietRate, endRate: quietRate },
        { label: 'plateau', durationSeconds: plateauSeconds, startRate: rate, endRate: rate },
        {
          label: 'decay',
          durationSeconds: decaySeconds,
          startRate: rate,
          endRate: rate * peakShape.decayEndRateFraction,
        },
      ]);
    }
  }
}
