import { OperationPicker, createProfile, runLoad, seededRandom } from '@cellpay/loadgen';
import type { LoadRunReport } from '@cellpay/loadgen';
import { slotRefusalReasons } from '@cellpay/routing';

import type { DrillTarget, WriteAttempt } from './drill-load';
import { allPayersGroup, drillLoadLimits } from './drill-load';
import type {
  DrillOperation,
  DrillOperationResult,
  DrillStep,
  DrillVerifier,
} from './drill-operation';

export interface DrillRequest {
  readonly kind: string;
  readonly target: DrillTarget;
  readonly operation: DrillOperation;
  readonly verifier: DrillVerifier;
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** When, in seconds after the load starts, the operation begins. */
  readonly operationAtSeconds: number;
  /**
   * The payer group whose longest outage is the drill's RTO (a migration: the users of the moving
   * slots); without it, every payer counts.
   */
  readonly rtoGroup?: string;
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
  /** `aborted`: the operation stopped and undid itself; `failed`: it threw or stopped half-way. */
  readonly operationOutcome: 'done' | 'aborted' | 'failed';
  readonly operationError: string | null;
  /** When the operation ran (ISO times), to place client errors inside or outside it. */
  readonly operationWindow: { readonly from: string; readonly to: string } | null;
  readonly facts: Readonly<Record<string, string | number | boolean>>;
  /** RTO as clients lived it: the longest outage of `rto.group`'s payers (`all`: every payer). */
  readonly rto: DrillOutage & { readonly group: string };
  /** Per payer group: attempts, successes and outage (one group `all` unless the drill splits). */
  readonly groups: Readonly<Record<string, DrillGroupFigures>>;
  /** RPO: acknowledged payments missing from the shard afterwards (the target is zero). */
  readonly rpo: {
    readonly acknowledged: number;
    readonly missing: number;
    readonly missingSample: readonly string[];
  };
  /** Duplicated and misplaced payments, when the verifier checks placement (migrations). */
  readonly placement: {
    readonly duplicated: number;
    readonly misplaced: number;
    /** Payments of moved slots that stay on the source by design (their payee did not move). */
    readonly keptOnSource: number;
    readonly sample: readonly string[];
  } | null;
  /** Errors the clients saw after the SDK's own retries, by `STATUS.reason`. */
  readonly clientErrors: Readonly<Record<string, number>>;
  /** The same errors sorted by whether a client may safely retry them, inside the window. */
  readonly errorClasses: DrillErrorClasses;
  readonly reconciliation: { readonly clean: boolean; readonly summary: string };
  readonly curve: LoadRunReport;
}

/**
 * Client errors judged against the window that matters: the operation's own (a migration's
 * freeze), or the whole operation's run when it names none.
 */
export interface DrillErrorClasses {
  readonly window: { readonly name: string; readonly from: string; readonly to: string } | null;
  /** True when every error of an attempt that overlapped the window was a retryable refusal. */
  readonly onlyRetryableInWindow: boolean;
  readonly inWindow: Readonly<Record<string, number>>;
  readonly nonRetryableInWindow: Readonly<Record<string, number>>;
  /** Errors outside the window that were not retryable refusals (a busy machine's deadlines). */
  readonly nonRetryableOutside: Readonly<Record<string, number>>;
}

export interface DrillGroupFigures {
  readonly attempts: number;
  readonly ok: number;
  readonly failed: number;
  readonly longestGapMs: number;
}

/** Missing payment IDs quoted in a report at most. */
export const missingSampleMax = 20;

/**
 * Refusal reasons that say "the routing table is moving, send the same request again": the slot
 * is frozen, a cell or the gateway is on another epoch. `routing_stale` is the gateway's answer
 * when a cell refused the route twice (the gateway's error code; the edge is not a dependency of
 * the control plane).
 */
export const retryableRefusalReasons: ReadonlySet<string> = new Set([
  slotRefusalReasons.frozen,
  slotRefusalReasons.notOwned,
  slotRefusalReasons.routerAhead,
  'routing_stale',
]);

/**
 * Whether a client error (`STATUS.reason`, as the drill target records it) is a refusal the
 * client may retry with the same idempotency key and expect to succeed once the operation ends:
 * UNAVAILABLE or ABORTED with a routing reason. A deadline or an INTERNAL is not: the client
 * cannot know whether it took effect.
 */
export function isRetryableRefusal(status: string): boolean {
  const dot = status.indexOf('.');
  if (dot < 0) return false;
  const code = status.slice(0, dot);
  return (
    (code === 'UNAVAILABLE' || code === 'ABORTED') &&
    retryableRefusalReasons.has(status.slice(dot + 1))
  );
}

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
  let operationResult: DrillOperationResult = { steps: [], facts: {} };
  // Assigned inside the operation's closure, which narrowing cannot see: hence the cast.
  let operationWindow = null as { from: string; to: string } | null;
  const operation = (async () => {
    await new Promise((resolve) => setTimeout(resolve, request.operationAtSeconds * 1_000));
    request.progress(`operation: ${request.operation.name}`);
    const from = new Date().toISOString();
    try {
      operationResult = await request.operation.run();
      if (operationResult.outcome !== undefined && operationResult.outcome !== 'done') {
        operationError = operationResult.reason ?? operationResult.outcome;
        request.progress(`operation ${operationResult.outcome}: ${operationError}`);
      }
    } catch (error) {
      operationError = error instanceof Error ? error.message : String(error);
      operationResult = { ...operationResult, outcome: 'failed' };
      request.progress(`operation failed: ${operationError}`);
    }
    operationWindow = { from, to: new Date().toISOString() };
  })();
  const [curve] = await Promise.all([load, operation]);
  request.progress(
    `load done: ${curve.summary.ok} ok, ${curve.summary.errorCount} errors; checking RPO`,
  );
  const acknowledged = request.target.acknowledged.map((payment) => payment.paymentId);
  const missing = await request.verifier.missingPayments(acknowledged);
  request.progress(`RPO: ${missing.length} of ${acknowledged.length} acknowledged missing`);
  const placement =
    request.verifier.placement === undefined
      ? null
      : await request.verifier.placement(request.target.acknowledged);
  if (placement !== null) {
    request.progress(
      `placement: ${placement.duplicated.length} duplicated, ${placement.misplaced.length} misplaced; reconciling`,
    );
  }
  const reconciliation = await request.verifier.reconcile();
  const rtoGroup = request.rtoGroup ?? allPayersGroup;
  const rtoAttempts =
    request.rtoGroup === undefined
      ? request.target.attempts
      : request.target.attempts.filter((attempt) => attempt.group === request.rtoGroup);
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
    operationOutcome: operationResult.outcome ?? 'done',
    operationError,
    operationWindow,
    facts: operationResult.facts,
    rto: { ...longestOutage(rtoAttempts), group: rtoGroup },
    groups: groupFigures(request.target.attempts),
    rpo: {
      acknowledged: acknowledged.length,
      missing: missing.length,
      missingSample: missing.slice(0, missingSampleMax),
    },
    placement:
      placement === null
        ? null
        : {
            duplicated: placement.duplicated.length,
            misplaced: placement.misplaced.length,
            keptOnSource: placement.keptOnSource?.length ?? 0,
            sample: [
              ...placement.duplicated.map((id) => `duplicated ${id}`),
              ...placement.misplaced.map((id) => `misplaced ${id}`),
            ].slice(0, missingSampleMax),
          },
    clientErrors: curve.summary.errors,
    errorClasses: classifyErrors(
      request.target.attempts,
      operationResult.window === undefined
        ? operationWindow === null
          ? null
          : { name: 'operation', ...operationWindow }
        : {
            name: operationResult.window.name,
            from: operationResult.window.from.toISOString(),
            to: operationResult.window.to.toISOString(),
          },
    ),
    reconciliation,
    curve,
  };
}

/**
 * The longest stretch in which no write succeeded, measured between successful completions (and
 * from the first failed attempt before the first success, to the last failure after the last
 * one); a run with no success at all reports its whole span.
 */
export function longestOutage(attempts: readonly WriteAttempt[]): DrillOutage {
  const successes = attempts
    .filter((attempt) => attempt.status === 'ok')
    .map((attempt) => attempt.completedAtMs)
    .sort((a, b) => a - b);
  if (successes.length === 0) {
    const first = attempts.reduce((min, a) => Math.min(min, a.startedAtMs), Infinity);
    const last = attempts.reduce((max, a) => Math.max(max, a.completedAtMs), -Infinity);
    return attempts.length === 0
      ? { longestGapMs: 0, gapStartedAt: null, gapEndedAt: null }
      : {
          longestGapMs: last - first,
          gapStartedAt: new Date(first).toISOString(),
          gapEndedAt: new Date(last).toISOString(),
        };
  }
  const first = successes[0] ?? 0;
  const last = successes.at(-1) ?? 0;
  let best = { longestGapMs: 0, from: first, to: first };
  const consider = (from: number, to: number) => {
    if (to - from > best.longestGapMs) best = { longestGapMs: to - from, from, to };
  };
  for (let index = 1; index < successes.length; index += 1) {
    consider(successes[index - 1] ?? 0, successes[index] ?? 0);
  }
  // Writes that failed before the first success or after the last one were an outage too: a
  // client that could not write when the load began (or still could not when it ended). Reduces,
  // not Math.min(...): spreading hundreds of thousands of attempts overflows the stack.
  const failed = attempts.filter((attempt) => attempt.status !== 'ok');
  const firstFailedStart = failed
    .filter((attempt) => attempt.completedAtMs < first)
    .reduce((min, attempt) => Math.min(min, attempt.startedAtMs), Number.POSITIVE_INFINITY);
  if (Number.isFinite(firstFailedStart)) consider(firstFailedStart, first);
  const lastFailedEnd = failed
    .filter((attempt) => attempt.completedAtMs > last)
    .reduce((max, attempt) => Math.max(max, attempt.completedAtMs), Number.NEGATIVE_INFINITY);
  if (Number.isFinite(lastFailedEnd)) consider(last, lastFailedEnd);
  return {
    longestGapMs: best.longestGapMs,
    gapStartedAt: new Date(best.from).toISOString(),
    gapEndedAt: new Date(best.to).toISOString(),
  };
}

/** Attempts, successes and the longest outage of each payer group. */
export function groupFigures(attempts: readonly WriteAttempt[]): Record<string, DrillGroupFigures> {
  const byGroup = new Map<string, WriteAttempt[]>();
  for (const attempt of attempts) {
    const group = attempt.group ?? allPayersGroup;
    const list = byGroup.get(group) ?? [];
    list.push(attempt);
    byGroup.set(group, list);
  }
  const figures: Record<string, DrillGroupFigures> = {};
  for (const [group, list] of [...byGroup].sort((a, b) => a[0].localeCompare(b[0]))) {
    const ok = list.filter((attempt) => attempt.status === 'ok').length;
    figures[group] = {
      attempts: list.length,
      ok,
      failed: list.length - ok,
      longestGapMs: longestOutage(list).longestGapMs,
    };
  }
  return figures;
}

/**
 * Sorts the errors clients saw into retryable refusals and the rest, inside the window (an attempt
 * counts when it overlapped it: the SDK's retries can carry a refusal past the window's end) and
 * outside it.
 */
export function classifyErrors(
  attempts: readonly WriteAttempt[],
  window: DrillErrorClasses['window'],
): DrillErrorClasses {
  const inWindow: Record<string, number> = {};
  const nonRetryableInWindow: Record<string, number> = {};
  const nonRetryableOutside: Record<string, number> = {};
  const from = window === null ? Number.NaN : Date.parse(window.from);
  const to = window === null ? Number.NaN : Date.parse(window.to);
  const add = (counts: Record<string, number>, status: string) => {
    counts[status] = (counts[status] ?? 0) + 1;
  };
  for (const attempt of attempts) {
    if (attempt.status === 'ok') continue;
    const overlaps = attempt.startedAtMs <= to && attempt.completedAtMs >= from;
    const retryable = isRetryableRefusal(attempt.status);
    if (overlaps) add(inWindow, attempt.status);
    if (overlaps && !retryable) add(nonRetryableInWindow, attempt.status);
    if (!overlaps && !retryable) add(nonRetryableOutside, attempt.status);
  }
  return {
    window,
    onlyRetryableInWindow: Object.keys(nonRetryableInWindow).length === 0,
    inWindow,
    nonRetryableInWindow,
    nonRetryableOutside,
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
