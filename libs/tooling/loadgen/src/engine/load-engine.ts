import { performance } from 'node:perf_hooks';
import type { OperationPicker } from '../mix/operation-mix';
import type { LoadProfile } from '../profile/load-profile';
import type { LoadRunReport } from '../report/curve';
import type { LoadTarget } from '../target/load-target';
import { PerSecondRecorder } from './per-second.recorder';
import { seededRandom } from './seeded-random';

/** Hard bounds of one run, whatever the flags say. */
export const loadRunLimits = {
  durationSecondsMax: 3_600,
  requestCountMax: 50_000_000,
  inFlightMax: 100_000,
  drainTimeoutMsMax: 60_000,
  /** The engine waits this long at most for a target's followed settlements, whatever it says. */
  settlementTailWaitMsMax: 120_000,
} as const;

/** The scheduler wakes this often; arrivals due since the last wake-up start together. */
export const schedulerTickMs = 2;
/** The status recorded when a target's `execute` throws instead of returning a status. */
export const targetErrorStatus = 'target_error';

export interface LoadProgress {
  readonly elapsedSeconds: number;
  /** The rate the profile asks for now, arrivals per second. */
  readonly scheduledRate: number;
  /** Ok completions in the last whole second. */
  readonly okPerSecond: number;
  readonly started: number;
  readonly ok: number;
  readonly errors: number;
  readonly dropped: number;
  readonly inFlight: number;
}

export interface LoadRunOptions {
  readonly profile: LoadProfile;
  readonly picker: OperationPicker;
  readonly target: LoadTarget;
  /** Operations in flight at most; an arrival beyond it is dropped (counted), never queued. */
  readonly inFlightMax: number;
  /** Arrivals started or dropped at most; the run ends early when reached. */
  readonly requestCountMax: number;
  /** After the last arrival, how long to wait for operations in flight. */
  readonly drainTimeoutMs: number;
  /** Seeds the percentile reservoirs (the picker has its own seed). */
  readonly seed: number;
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Stops scheduling when aborted (Ctrl-C); operations in flight drain and the run reports. */
  readonly signal?: AbortSignal;
}

/**
 * Plays a profile against a target, open loop: arrival n starts at its scheduled time whatever
 * the earlier ones are doing, so a slow target shows as latency (and, past the in-flight limit,
 * as dropped arrivals), never as a lower request rate. Latency is measured from the scheduled
 * time, not from the moment the scheduler got round to it, so a stalled generator cannot hide
 * latency either (no coordinated omission).
 */
export async function runLoad(options: LoadRunOptions): Promise<LoadRunReport> {
  const { profile, picker, target } = options;
  checkLimits(options);
  const settlementTailWaitMs = Math.min(
    Math.max(0, target.settlementTailWaitMsMax ?? 0),
    loadRunLimits.settlementTailWaitMsMax,
  );
  const secondsMax =
    Math.ceil(profile.durationSeconds + (options.drainTimeoutMs + settlementTailWaitMs) / 1000) + 2;
  const recorder = new PerSecondRecorder(secondsMax, seededRandom(options.seed));
  const arrivalsMax = Math.min(profile.arrivalCount, options.requestCountMax);
  // The clock starts once the target is open: its setup (funding wallets, say) is not load, and
  // counting it would make the first arrivals all due at once.
  let startedAtMs = performance.now();
  const secondsSinceStart = (): number => (performance.now() - startedAtMs) / 1000;

  let inFlight = 0;
  let started = 0;
  let accepting = true;
  let acceptingSettlements = true;
  let drained: (() => void) | undefined;

  const complete = (scheduledAtMs: number, status: string): void => {
    inFlight -= 1;
    if (accepting) {
      const nowMs = performance.now();
      recorder.recordCompletion((nowMs - startedAtMs) / 1000, status, nowMs - scheduledAtMs);
    }
    if (inFlight === 0) drained?.();
  };

  await target.open({
    settlementLag: (seconds) => {
      if (acceptingSettlements) recorder.recordSettlementLag(secondsSinceStart(), seconds * 1000);
    },
    settlementUnsettled: () => {
      if (acceptingSettlements) recorder.recordSettlementUnsettled();
    },
  });
  const startedAtIso = new Date().toISOString();
  startedAtMs = performance.now();

  let next = 0;
  let lastProgressSecond = 0;
  const stopped = (): boolean => options.signal?.aborted === true;
  while (next < arrivalsMax && !stopped()) {
    const elapsedSeconds = secondsSinceStart();
    const due = Math.min(arrivalsMax, profile.arrivalsDueBy(elapsedSeconds));
    for (; next < due; next += 1) {
      const scheduledSeconds = profile.scheduledSecondsOf(next);
      recorder.recordOffered(scheduledSeconds);
      if (inFlight >= options.inFlightMax) {
        recorder.recordDropped(scheduledSeconds);
        continue;
      }
      const scheduledAtMs = startedAtMs + scheduledSeconds * 1000;
      recorder.recordDispatchLag(scheduledSeconds, performance.now() - scheduledAtMs);
      inFlight += 1;
      started += 1;
      let execution: Promise<{ readonly status: string }>;
      try {
        execution = target.execute(picker.pick(next));
      } catch {
        execution = Promise.resolve({ status: targetErrorStatus });
      }
      execution.then(
        (outcome) => complete(scheduledAtMs, outcome.status),
        () => complete(scheduledAtMs, targetErrorStatus),
      );
    }
    const wholeSecond = Math.floor(elapsedSeconds);
    if (wholeSecond > lastProgressSecond) {
      lastProgressSecond = wholeSecond;
      options.onProgress?.({
        elapsedSeconds,
        scheduledRate: profile.rateAt(elapsedSeconds),
        okPerSecond: recorder.okIn(wholeSecond - 1),
        started,
        ok: recorder.totals.ok,
        errors: recorder.totals.errors,
        dropped: recorder.totals.dropped,
        inFlight,
      });
    }
    if (next < arrivalsMax && !stopped()) await sleep(schedulerTickMs);
  }

  // Interrupted means arrivals were left unscheduled, not merely that the signal fired late.
  const interrupted = next < arrivalsMax;
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.drainTimeoutMs);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  accepting = false;
  const unfinished = inFlight;
  // Settlements of the last payments come after their acknowledgement: wait for the ones the
  // target follows, bounded, and file them under the seconds they settle in.
  if (target.settled !== undefined) {
    await withTimeout(target.settled(), settlementTailWaitMs);
  }
  acceptingSettlements = false;
  const elapsedSeconds = secondsSinceStart();
  await target.close();

  return {
    summary: {
      target: target.name,
      profile: profile.kind,
      rate: Math.max(...profile.segments.map((segment) => segment.startRate)),
      durationSeconds: profile.durationSeconds,
      startedAt: startedAtIso,
      elapsedSeconds,
      scheduled: recorder.totals.offered,
      started,
      ok: recorder.totals.ok,
      errors: Object.fromEntries(recorder.errorsByStatus),
      errorCount: recorder.totals.errors,
      dropped: recorder.totals.dropped,
      unfinished,
      interrupted,
      latencyMs: recorder.runLatencyMs(),
      settlementLagMs: recorder.runSettlementLagMs(),
      settlementUnsettled: recorder.totals.settlementUnsettled,
      dispatchLagMsMax: recorder.dispatchLagMsMax,
    },
    seconds: recorder.curve(),
  };
}

function checkLimits(options: LoadRunOptions): void {
  const within = (value: number, max: number): boolean =>
    Number.isInteger(value) && value >= 1 && value <= max;
  if (options.profile.durationSeconds > loadRunLimits.durationSecondsMax) {
    throw new Error(`a run lasts at most ${loadRunLimits.durationSecondsMax} s`);
  }
  if (!within(options.requestCountMax, loadRunLimits.requestCountMax)) {
    throw new Error(`the request count limit must lie within 1..${loadRunLimits.requestCountMax}`);
  }
  if (!within(options.inFlightMax, loadRunLimits.inFlightMax)) {
    throw new Error(`the in-flight limit must lie within 1..${loadRunLimits.inFlightMax}`);
  }
  if (!(options.drainTimeoutMs >= 0 && options.drainTimeoutMs <= loadRunLimits.drainTimeoutMsMax)) {
    throw new Error(`the drain timeout must lie within 0..${loadRunLimits.drainTimeoutMsMax} ms`);
  }
}

/** Waits for `work` or `timeoutMs`, whichever comes first; a failure of `work` ends the wait too. */
async function withTimeout(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
