import type { MigrationProgress, MigrationSummary } from '@cellpay/migration';
import { slotOf } from '@cellpay/routing';

import type { DrillPayer } from './drill-load';
import type { DrillOperation, DrillOperationResult, DrillStep } from './drill-operation';

/** The payer group of users whose slots move; its longest outage is the migration's RTO. */
export const movingSlotsGroup = 'moving-slots';
/** The payer group of the source cell's other users: they must not notice the move. */
export const stayingSlotsGroup = 'staying-slots';

/** User IDs tried per payer when looking for one that hashes into a wanted slot. */
export const userCandidatesPerPayerMax = 100_000;

export interface MigrationDrillPayersRequest {
  /** Makes the user IDs fresh for this drill. */
  readonly runId: string;
  readonly movingSlots: readonly number[];
  /** Other slots of the source cell (the payers that stay). */
  readonly stayingSlots: readonly number[];
  readonly slotCount: number;
  /** Payers in all; half of them (rounded up) live in the moving slots. */
  readonly payers: number;
}

/**
 * The payers of a migration drill: every other one lives in a moving slot (spread over the
 * moving slots in turn), the rest in the source cell's other slots. The load takes payers in
 * turn, so half of the payments (rounded up) come from users of the moving slots: the drill
 * proves the move under their writes, and that the cell's other users do not notice it.
 */
export function migrationDrillPayers(request: MigrationDrillPayersRequest): DrillPayer[] {
  if (request.movingSlots.length === 0 || request.stayingSlots.length === 0) {
    throw new Error('a migration drill needs moving slots and other slots of the source cell');
  }
  if (request.payers < 2) throw new Error('a migration drill needs at least two payers');
  const payers: DrillPayer[] = [];
  const counters = new Map<number, number>();
  for (let index = 0; index < request.payers; index += 1) {
    const moving = index % 2 === 0;
    const slots = moving ? request.movingSlots : request.stayingSlots;
    const slot = slots[Math.floor(index / 2) % slots.length] ?? 0;
    const group = moving ? movingSlotsGroup : stayingSlotsGroup;
    const userId = userInSlot(slot, request, counters);
    payers.push({ userId, group });
  }
  return payers;
}

function userInSlot(
  slot: number,
  request: MigrationDrillPayersRequest,
  counters: Map<number, number>,
): string {
  const start = counters.get(slot) ?? 0;
  for (let n = start; n < start + userCandidatesPerPayerMax; n += 1) {
    const candidate = `drill-${request.runId}-s${slot}-${n}`;
    if (slotOf(candidate, request.slotCount) === slot) {
      counters.set(slot, n + 1);
      return candidate;
    }
  }
  throw new Error(
    `no user ID hashes to slot ${slot} in ${userCandidatesPerPayerMax} tries (userCandidatesPerPayerMax)`,
  );
}

/**
 * Turns the migration's progress events into the drill's timeline. A step is open from its
 * `started` to its `done` or `failed`; the copy rounds report their rows as a `catch-up` event
 * inside the bulk and final copies, which becomes the open step's detail.
 */
export class MigrationTimeline {
  private readonly steps: DrillStep[] = [];
  private readonly open = new Map<string, { startedAt: Date; detail?: string }>();
  /** Milliseconds since the epoch at which the migration started (its events count from there). */
  private readonly startedAtMs: number;

  constructor(nowMs: number = Date.now()) {
    this.startedAtMs = nowMs;
  }

  record(event: MigrationProgress): void {
    const at = new Date(this.startedAtMs + event.elapsedMs);
    if (event.phase === 'started') {
      this.open.set(event.step, { startedAt: at });
      return;
    }
    const opened = this.open.get(event.step);
    if (opened === undefined) {
      // A round's report inside another step (or a second `done` of a round already closed).
      const last = [...this.open.values()].at(-1);
      if (last !== undefined && event.detail !== undefined) last.detail = event.detail;
      return;
    }
    this.open.delete(event.step);
    const detail = event.detail ?? opened.detail;
    this.steps.push({
      step: event.step,
      startedAt: opened.startedAt,
      endedAt: at,
      durationMs: at.getTime() - opened.startedAt.getTime(),
      outcome: event.phase === 'done' ? 'done' : 'failed',
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** The steps in the order they ended. */
  timeline(): DrillStep[] {
    return [...this.steps];
  }
}

/**
 * The freeze as the migration ran it: from the start of the freeze step to the end of the flip
 * (or of the unfreeze, when it aborted). Clients feel it up to a second later at each end (the
 * followers); the report counts attempts that overlapped it.
 */
export function freezeWindow(
  steps: readonly DrillStep[],
): { name: string; from: Date; to: Date } | undefined {
  const freeze = steps.find((step) => step.step === 'freeze');
  const end = steps.find((step) => step.step === 'flip' || step.step === 'unfreeze');
  if (freeze === undefined) return undefined;
  return { name: 'freeze', from: freeze.startedAt, to: (end ?? steps.at(-1) ?? freeze).endedAt };
}

/** What a drill's report says about a migration, from its summary. */
export function migrationFacts(summary: MigrationSummary): DrillOperationResult['facts'] {
  const rows = Object.entries(summary.rowsCopied).filter(([, count]) => count > 0);
  const total = rows.reduce((sum, [, count]) => sum + count, 0);
  const reconciled = (report: { clean: boolean; differenceCount: number } | undefined) =>
    report === undefined
      ? 'not run'
      : report.clean
        ? 'clean'
        : `${report.differenceCount} difference(s)`;
  return {
    migration: summary.migrationId,
    'migration outcome': summary.outcome,
    slots: `${summary.slots.join(',')}: ${summary.sourceCellId} -> ${summary.targetCellId}`,
    'rows copied': `${total} (${rows.map(([table, count]) => `${table} ${count}`).join(', ')})`,
    'copy rounds (bulk, catch-up, final)': summary.rounds.length,
    'freeze (ms, freeze commit to flip or unfreeze commit)': summary.freezeMs ?? '-',
    'routing epochs (before -> frozen -> after)': [
      summary.epochs.before,
      summary.epochs.frozen ?? '-',
      summary.epochs.after ?? '-',
    ].join(' -> '),
    verification:
      summary.verification === undefined
        ? 'not reached'
        : summary.verification.ok
          ? `ok (${summary.verification.accountsChecked} accounts)`
          : `${summary.verification.mismatchCount} difference(s)`,
    'reconciliation before the flip (source / target)': `${reconciled(summary.reconciliation.source)} / ${reconciled(summary.reconciliation.target)}`,
    'reconciliation after the clean (source / target)': `${reconciled(summary.reconciliation.sourceAfterClean)} / ${reconciled(summary.reconciliation.targetAfterFlip)}`,
    ...(summary.clean === undefined
      ? {}
      : {
          'source rows removed by the clean': Object.values(summary.clean.rowsRemoved).reduce(
            (sum, count) => sum + count,
            0,
          ),
        }),
    ...(summary.droppedFromTarget === undefined
      ? {}
      : {
          'rows dropped from the target (abort)': Object.values(summary.droppedFromTarget).reduce(
            (sum, count) => sum + count,
            0,
          ),
        }),
    ...(summary.lateWritesOnSource === undefined
      ? {}
      : { 'late writes on the source after the clean': summary.lateWritesOnSource.length }),
  };
}

/**
 * A slot migration as a drill operation. `migrate` runs the migration (the caller has planned it
 * and wires its dependencies) and forwards its progress to `onProgress`; the timeline and the
 * facts come from those events and the summary. A migration that aborted (and so rolled back) is
 * reported as `aborted` with its reason, one that failed after the flip as `failed`.
 */
export function slotMigrationOperation(
  name: string,
  migrate: (onProgress: (event: MigrationProgress) => void) => Promise<MigrationSummary>,
  onSummary: (summary: MigrationSummary) => void = () => undefined,
): DrillOperation {
  return {
    name,
    run: async () => {
      const timeline = new MigrationTimeline();
      const summary = await migrate((event) => timeline.record(event));
      onSummary(summary);
      const steps = timeline.timeline();
      const window = freezeWindow(steps);
      const result = {
        steps,
        facts: migrationFacts(summary),
        ...(window === undefined ? {} : { window }),
      };
      if (summary.outcome === 'completed') return result;
      return {
        ...result,
        outcome: summary.outcome === 'aborted' ? 'aborted' : 'failed',
        reason: summary.error?.message ?? summary.outcome,
      };
    },
  };
}
