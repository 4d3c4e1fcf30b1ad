import { OperationPicker, createProfile, runLoad, seededRandom } from '@cellpay/loadgen';
import type { LoadRunReport } from '@cellpay/loadgen';

import type { DrillTarget, WriteAttempt } from './drill-load';
import { drillLoadLimits } from './drill-load';
import type { DrillOperation, DrillStep, DrillVerifier } from './drill-operation';

export interface DrillRequest {
  readonly kind: string;
  readonly target: DrillTarget;
  readonly operation: DrillOperation;
  readonly verifier: DrillVerifier;
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** When, in seconds after the load starts, the operation begins. */
  readonly operationAtSeconds: number;
  readonly progress: (line: string) => void;
}

export interface DrillOutage {
  /** The longest time no payment succeeded, from the last success before to the first after. */
  readonly longestGapMs: number;
  readonly gapStartedAt: string | null;
  readonly gapEndedAt: string | null;
}

export interface DrillReport {
  readonly kind: string;
  readonly operation: string;
  readonly startedAt: string;
  readonly load: {
    readonly ratePerSecond: number;
    readonly durationSeconds: number;
    readonly scheduled: number;
    readonly ok: number;
    readonly errorCount: number;
    readonly dropped: number;
    readonly unfinished: number;
  };
  readonly timeline: readonly DrillStep[];
  readonly operationOutcome: 'done' | 'failed';
  readonly operationError: string | null;
  readonly facts: Readonly<Record<string, string | number | boolean>>;
  /** RTO as clients lived it. */
  readonly rto: DrillOutage;
  /** RPO: acknowledged payments missing from the shard afterwards (the target is zero). */
  readonly rpo: {
    readonly acknowledged: number;
    readonly missing: number;
    readonly missingSample: readonly string[];
  };
  /** Errors the clients saw after the SDK's own retries, by `STATUS.reason`. */
  readonly clientErrors: Readonly<Record<string, number>>;
  readonly reconciliation: { readonly clean: boolean; readonly summary: string };
  readonly curve: LoadRunReport;
}

/** Missing payment IDs quoted in a report at most. */
export const missingSampleMax = 20;

/**
 * Runs an operation under a bounded open-loop payment load and measures what clients lived through:
 * the load starts, the operation begins at `operationAtSeconds`, the load drains, then every
 * acknowledged payment is looked up in the shard (RPO) and the cell is reconciled.
 */
export async function runDrill(request: DrillRequest): Promise<DrillReport> {
  validate(request);
  const startedAt = new Date().toISOString();
  request.progress(`drill ${request.kind}: preparing payers`);
  await request.target.prepare();
  request.progress(
    `load: ${request.ratePerSecond} payments/s for ${request.durationSeconds} s; ` +
      `${request.operation.name} at ${request.operationAtSeconds} s`,
  );
  const profile = createProfile({
    kind: 'constant',
    rate: request.ratePerSecond,
    durationSeconds: request.durationSeconds,
  });
  const load = runLoad({
    profile,
    picker: new OperationPicker(
      {
        weights: { pay_same_cell: 1, pay_cross_cell: 0, refund: 0, query: 0 },
        hotMerchantShare: 0,
      },
      seededRandom(1),
    ),
    target: request.target,
    inFlightMax: drillLoadLimits.inFlightMax,
    requestCountMax: Math.max(1, profile.arrivalCount),
    drainTimeoutMs: 15_000,
    seed: 1,
  });
  let operationError: string | null = null;
  let operationResult: Awaited<ReturnType<DrillOperation['run']>> = { steps: [], facts: {} };
  const operation = (async () => {
    await new Promise((resolve) => setTimeout(resolve, request.operationAtSeconds * 1_000));
    request.progress(`operation: ${request.operation.name}`);
    try {
      operationResult = await request.operation.run();
    } catch (error) {
      operationError = error instanceof Error ? error.message : String(error);
      request.progress(`operation failed: ${operationError}`);
    }
  })();
  const [curve] = await Promise.all([load, operation]);
  request.progress(
    `load done: ${curve.summary.ok} ok, ${curve.summary.errorCount} errors; checking RPO`,
  );
  const acknowledged = request.target.acknowledged.map((payment) => payment.paymentId);
  const missing = await request.verifier.missingPayments(acknowledged);
  request.progress(
    `RPO: ${missing.length} of ${acknowledged.length} acknowledged missing; reconciling`,
  );
  const reconciliation = await request.verifier.reconcile();
  return {
    kind: request.kind,
    operation: request.operation.name,
    startedAt,
    load: {
      ratePerSecond: request.ratePerSecond,
      durationSeconds: request.durationSeconds,
      scheduled: curve.summary.scheduled,
      ok: curve.summary.ok,
      errorCount: curve.summary.errorCount,
      dropped: curve.summary.dropped,
      unfinished: curve.summary.unfinished,
    },
    timeline: operationResult.steps,
    operationOutcome: operationError === null ? 'done' : 'failed',
    operationError,
    facts: operationResult.facts,
    rto: longestOutage(request.target.attempts),
    rpo: {
      acknowledged: acknowledged.length,
      missing: missing.length,
      missingSample: missing.slice(0, missingSampleMax),
    },
    clientErrors: curve.summary.errors,
    reconciliation,
    curve,
  };
}

/**
 * The longest stretch in which no write succeeded, measured between successful completions; a
 * run with no success at all reports its whole span.
 */
export function longestOutage(attempts: readonly WriteAttempt[]): DrillOutage {
  const successes = attempts
    .filter((attempt) => attempt.status === 'ok')
    .map((attempt) => attempt.completedAtMs)
    .sort((a, b) => a - b);
  if (successes.length === 0) {
    const first = Math.min(...attempts.map((a) => a.startedAtMs));
    const last = Math.max(...attempts.map((a) => a.completedAtMs));
    return attempts.length === 0
      ? { longestGapMs: 0, gapStartedAt: null, gapEndedAt: null }
      : {
          longestGapMs: last - first,
          gapStartedAt: new Date(first).toISOString(),
          gapEndedAt: new Date(last).toISOString(),
        };
  }
  let best = { longestGapMs: 0, from: successes[0] ?? 0, to: successes[0] ?? 0 };
  for (let index = 1; index < successes.length; index += 1) {
    const from = successes[index - 1] ?? 0;
    const to = successes[index] ?? 0;
    if (to - from > best.longestGapMs) best = { longestGapMs: to - from, from, to };
  }
  return {
    longestGapMs: best.longestGapMs,
    gapStartedAt: new Date(best.from).toISOString(),
    gapEndedAt: new Date(best.to).toISOString(),
  };
}

function validate(request: DrillRequest): void {
  const within = (value: number, min: number, max: number): boolean =>
    Number.isFinite(value) && value >= min && value <= max;
  if (!within(request.ratePerSecond, 1, drillLoadLimits.ratePerSecondMax)) {
    throw new Error(`--load must lie within 1..${drillLoadLimits.ratePerSecondMax} payments/s`);
  }
  if (!within(request.durationSeconds, 2, drillLoadLimits.durationSecondsMax)) {
    throw new Error(`--duration must lie within 2..${drillLoadLimits.durationSecondsMax} s`);
  }
  if (!within(request.operationAtSeconds, 0, request.durationSeconds - 1)) {
    throw new Error('the operation must start at least a second before the load ends');
  }
}
