import type { Pool, PoolConnection } from 'mysql2/promise';

import type { AuditLog } from '@cellpay/global-data-access';
import type { RoutingTable } from '@cellpay/routing';
import { CrossCellRefundState, SettlementState } from '@cellpay/settlement-domain';

import type { CellReconciler, CellReconciliation } from './cell-reconciler';
import { migrationLimitsDefault, type MigrationLimits } from './migration-limits';
import { MigrationError, MigrationErrorCode } from './migration.exception';
import type { MigrateSlotsRequest, MigrationPlan, PlanDependencies } from './migration-plan';
import { cleanSource, type CleanReport } from './source-cleaner';
import { awaitRoutingEpoch, type RoutingEpochReaders } from './routing-epoch-readers';
import { prepareSession, rows } from './shard-connection';
import { SlotCopier, totalOf, withTarget, type RowCounts, type SlotScope } from './slot-copier';
import { slotPattern } from './slot-schema';
import { verifySlots, type VerificationReport } from './slot-verifier';
import { waitMs } from './wait';

export type MigrationStep =
  | 'plan'
  | 'bulk-copy'
  | 'catch-up'
  | 'freeze'
  | 'drain'
  | 'lock-source'
  | 'final-copy'
  | 'verify'
  | 'reconcile'
  | 'flip'
  | 'clean'
  | 'check-source'
  | 'abort-rollback'
  | 'drop-copy'
  | 'unfreeze';

export interface MigrationProgress {
  readonly step: MigrationStep;
  readonly phase: 'started' | 'done' | 'failed';
  /** Since the migration started. */
  readonly elapsedMs: number;
  readonly detail?: string;
}

export interface MigrationDependencies extends PlanDependencies {
  /** Puts a committed routing table where followers see it (Redis), right after each change. */
  readonly publishRouting: (table: RoutingTable) => Promise<void>;
  readonly audit: AuditLog;
  /** Each cell's own reconciliation; without it the step is reported as not run. */
  readonly reconcile?: CellReconciler;
  /**
   * The processes of a cell (the cell, its relay) to ask for the routing epoch they enforce: the
   * drain waits until every process of the source reports the freeze's epoch. Without it the
   * drain waits `freezeSettleMs` and trusts the followers (summary: `freezeConfirmation`).
   */
  readonly routingEpochReaders?: RoutingEpochReaders;
  readonly onProgress?: (event: MigrationProgress) => void;
  /** Aborting it (Ctrl-C) stops the migration at the next step or batch, before the flip. */
  readonly signal?: AbortSignal;
  /** Called after a successful verification; a throw aborts (drills and tests inject faults). */
  readonly afterVerify?: (report: VerificationReport) => Promise<void> | void;
  /**
   * Called after each step before the flip has completed; a throw there is that step's failure
   * (drills and tests inject faults: a dead shard, a row changed behind the migration's back).
   */
  readonly afterStep?: (step: MigrationStep) => Promise<void> | void;
}

export interface MigrationSummary {
  readonly migrationId: string;
  readonly outcome: 'completed' | 'aborted' | 'failed_after_flip';
  readonly error?: { readonly code: string; readonly message: string };
  readonly slots: readonly number[];
  readonly sourceCellId: string;
  readonly targetCellId: string;
  readonly epochs: { before: string; frozen?: string; after?: string };
  readonly rounds: readonly { round: number; rowsWritten: RowCounts; durationMs: number }[];
  /** Rows written to the target per table over all rounds. */
  readonly rowsCopied: RowCounts;
  /** From the freeze's commit to the flip's (or the unfreeze's) commit. */
  readonly freezeMs?: number;
  /** How the drain knew the source's processes enforce the freeze. */
  readonly freezeConfirmation?: FreezeConfirmation;
  readonly verification?: VerificationReport;
  readonly reconciliation: {
    readonly source?: CellReconciliation;
    readonly target?: CellReconciliation;
    readonly sourceAfterClean?: CellReconciliation;
    readonly targetAfterFlip?: CellReconciliation;
  };
  readonly clean?: CleanReport;
  readonly droppedFromTarget?: RowCounts;
  /** Writes that reached the moving accounts on the source after the clean (should be none). */
  readonly lateWritesOnSource?: readonly string[];
  readonly timeline: readonly { step: MigrationStep; durationMs: number; outcome: string }[];
  readonly durationMs: number;
}

/**
 * `reported`: every process of the source answered the freeze's epoch (or a newer one);
 * `assumed`: nobody could be asked, the drain waited `freezeSettleMs`.
 */
export type FreezeConfirmation =
  | {
      readonly kind: 'reported';
      readonly processes: readonly string[];
      readonly waitedMs: number;
      readonly rounds: number;
    }
  | { readonly kind: 'assumed'; readonly waitedMs: number };

/**
 * Moves slots from the cell that owns them to `targetCellId` while traffic runs:
 * bulk copy, catch-up rounds until the delta is small, freeze (epoch bump), drain, lock the moving
 * rows on the source, final copy, verify, reconcile both cells, flip (epoch bump), clean the
 * source in the same locking transaction. Any failure before the flip leaves the source
 * authoritative and whole: the lock is rolled back, the target's partial copy dropped, the slots
 * unfrozen. The summary is returned in every outcome.
 */
export async function migrateSlots(
  plan: MigrationPlan,
  request: MigrateSlotsRequest,
  dependencies: MigrationDependencies,
): Promise<MigrationSummary> {
  const run = new MigrationRun(plan, request, dependencies);
  return run.execute();
}

class MigrationRun {
  private readonly startedAt = Date.now();
  private readonly limits: MigrationLimits;
  private readonly scope: SlotScope;
  private readonly source: Pool;
  private readonly target: Pool;
  private readonly copier: SlotCopier;
  private readonly timeline: { step: MigrationStep; durationMs: number; outcome: string }[] = [];
  private readonly rounds: { round: number; rowsWritten: RowCounts; durationMs: number }[] = [];
  private readonly rowsCopied: RowCounts = {};
  private readonly reconciliation: {
    source?: CellReconciliation;
    target?: CellReconciliation;
    sourceAfterClean?: CellReconciliation;
    targetAfterFlip?: CellReconciliation;
  } = {};
  private epochs: { before: string; frozen?: string; after?: string };
  private frozenAt: number | undefined;
  private freezeMs: number | undefined;
  private freezeConfirmation: FreezeConfirmation | undefined;
  private verification: VerificationReport | undefined;
  private lock: PoolConnection | undefined;
  private flipped = false;

  constructor(
    private readonly plan: MigrationPlan,
    private readonly request: MigrateSlotsRequest,
    private readonly dependencies: MigrationDependencies,
  ) {
    this.limits = { ...migrationLimitsDefault, ...dependencies.limits };
    this.scope = {
      slots: plan.slots,
      sourceCellId: plan.sourceCellId,
      targetCellId: plan.targetCellId,
      settlementTables: plan.settlementTables,
      limits: this.limits,
    };
    this.source = dependencies.shardPool(plan.sourceCellId);
    this.target = dependencies.shardPool(plan.targetCellId);
    this.copier = new SlotCopier(this.target, this.scope);
    this.epochs = { before: plan.epoch };
  }

  async execute(): Promise<MigrationSummary> {
    try {
      await this.copyWhileLive();
      await this.freeze();
      await this.step('drain', () => this.drain());
      await this.step('lock-source', () => this.lockSource());
      await this.step('final-copy', () => this.copyRound(this.requireLock(), 'final'));
      await this.step('verify', () => this.verify());
      await this.step('reconcile', () => this.reconcileBoth('source', 'target'));
      this.checkNotAborted();
      await this.step('flip', () => this.flip());
    } catch (error) {
      if (this.flipped) {
        await this.releaseLock(true);
        return this.recorded(this.summary('failed_after_flip', error));
      }
      await this.abort();
      return this.recorded(this.summary('aborted', error));
    }
    let clean: CleanReport;
    try {
      clean = await this.step('clean', () =>
        cleanSource(this.requireLock(), this.scope, this.plan.migrationId),
      );
      await this.requireLock().commit();
    } catch (error) {
      await this.releaseLock(true);
      return this.recorded(
        this.summary(
          'failed_after_flip',
          new MigrationError(
            MigrationErrorCode.CleanFailedAfterFlip,
            `the target owns the slots, but cleaning the source failed and was rolled back: ${describe(error)}`,
          ),
        ),
      );
    }
    await this.releaseLock(false);
    // The move is done; what follows only reports, so a failure here is noted, not raised.
    const lateWrites = await this.step('check-source', () => this.lateWrites()).catch(
      (error: unknown) => [`not checked: ${describe(error)}`],
    );
    this.reconciliation.sourceAfterClean = await this.reconcileQuietly(this.plan.sourceCellId);
    this.reconciliation.targetAfterFlip = await this.reconcileQuietly(this.plan.targetCellId);
    return this.recorded(
      this.summary('completed', undefined, { clean, lateWritesOnSource: lateWrites }),
    );
  }

  private async reconcileQuietly(cellId: string): Promise<CellReconciliation | undefined> {
    const reconcile = this.dependencies.reconcile;
    if (reconcile === undefined) return undefined;
    try {
      return await reconcile(cellId);
    } catch (error) {
      return {
        cellId,
        clean: false,
        differenceCount: 0,
        differences: [{ error: describe(error) }],
      };
    }
  }

  /**
   * One audit record per run, whatever its outcome, with the summary; the routing changes have
   * their own records (the table before and after) written with each change.
   */
  private async recorded(summary: MigrationSummary): Promise<MigrationSummary> {
    await this.dependencies.audit
      .record({
        actor: this.request.actor,
        action: `slots.migrate.${summary.outcome}`,
        subject: `${this.plan.slots.join(',')}:${this.plan.sourceCellId}->${this.plan.targetCellId}`,
        before: { epoch: this.epochs.before, cellId: this.plan.sourceCellId },
        after: summary,
      })
      .catch((error: unknown) => {
        // The migration's outcome stands; the operator sees the summary and this note.
        this.report('check-source', 'failed', `audit record not written: ${describe(error)}`);
      });
    return summary;
  }

  private async copyWhileLive(): Promise<void> {
    await this.step('bulk-copy', () => this.snapshotRound('bulk'));
    for (let round = 1; ; round += 1) {
      const written = await this.step('catch-up', () => this.snapshotRound(`catch-up ${round}`));
      if (written <= this.limits.freezeDeltaRowsMax) return;
      if (round >= this.limits.catchUpRoundsMax) {
        throw new MigrationError(
          MigrationErrorCode.DeltaDidNotShrink,
          `after ${round} catch-up rounds the delta is still ${written} rows (freezeDeltaRowsMax ${this.limits.freezeDeltaRowsMax})`,
        );
      }
    }
  }

  /** One copy pass reading the source from one consistent snapshot. */
  private async snapshotRound(label: string): Promise<number> {
    const connection = await this.source.getConnection();
    try {
      await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      try {
        return await this.copyRound(connection, label);
      } finally {
        await connection.query('COMMIT');
      }
    } finally {
      // Its session was changed (REPEATABLE READ, a snapshot): closed rather than handed back to
      // the pool, so no later query of the migration runs in it and the drain never waits on it.
      connection.destroy();
    }
  }

  private async copyRound(source: PoolConnection, label: string): Promise<number> {
    const started = Date.now();
    const written = await this.copier.copyPass(source);
    for (const [table, count] of Object.entries(written)) {
      this.rowsCopied[table] = (this.rowsCopied[table] ?? 0) + count;
    }
    this.rounds.push({
      round: this.rounds.length,
      rowsWritten: written,
      durationMs: Date.now() - started,
    });
    this.report(
      'catch-up',
      'done',
      `${label}: ${totalOf(written)} rows written ${JSON.stringify(written)}`,
    );
    this.checkNotAborted();
    return totalOf(written);
  }

  private async freeze(): Promise<void> {
    await this.step('freeze', async () => {
      const table = await this.dependencies.routing.freezeSlotsOf(
        this.plan.slots,
        this.plan.sourceCellId,
        {
          actor: this.request.actor,
          action: 'slots.freeze',
          subject: `${this.plan.slots.join(',')} (${this.plan.migrationId})`,
        },
      );
      this.frozenAt = Date.now();
      this.epochs.frozen = table.epoch.toString();
      await this.dependencies.publishRouting(table);
    });
  }

  /**
   * The source's processes refuse a frozen slot (gRPC guard and ledger) once their follower has
   * the freeze's epoch; a call that passed the check before may still be in its transaction. Ask
   * every process until each reports that epoch, then wait until no transaction in the source's
   * database began before that moment.
   */
  private async drain(): Promise<void> {
    await this.awaitFreezeEnforced();
    // One connection for the whole wait, excluded from what it counts: with the pool, the count
    // could run on one connection while another of the migrator's own sessions is counted.
    const watcher = await this.source.getConnection();
    try {
      await prepareSession(watcher, this.limits.lockWaitSeconds);
      const [now] = await watcher.query<import('mysql2/promise').RowDataPacket[]>(
        'SELECT NOW() AS now, DATABASE() AS db',
      );
      const since = now[0]?.['now'];
      const database = now[0]?.['db'];
      const deadline = Date.now() + this.limits.drainMsMax;
      for (;;) {
        const [open] = await watcher.query<import('mysql2/promise').RowDataPacket[]>(
          `SELECT COUNT(*) AS open_count FROM information_schema.innodb_trx t
             JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
            WHERE p.db = ? AND t.trx_started <= ? AND p.id <> CONNECTION_ID()`,
          [database, since],
        );
        if (Number(open[0]?.['open_count'] ?? 0) === 0) return;
        if (Date.now() >= deadline) {
          throw new MigrationError(
            MigrationErrorCode.TransactionsDidNotDrain,
            `transactions begun before the freeze still run after ${this.limits.drainMsMax} ms (drainMsMax): ${await openTransactionsBefore(watcher, database, since)}`,
          );
        }
        await waitMs(50, this.dependencies.signal);
      }
    } finally {
      watcher.release();
    }
  }

  private async awaitFreezeEnforced(): Promise<void> {
    const readers = this.dependencies.routingEpochReaders;
    if (readers === undefined) {
      await waitMs(this.limits.freezeSettleMs, this.dependencies.signal);
      this.freezeConfirmation = { kind: 'assumed', waitedMs: this.limits.freezeSettleMs };
      this.report('drain', 'started', `freeze assumed after ${this.limits.freezeSettleMs} ms`);
      return;
    }
    const processes = readers(this.plan.sourceCellId);
    const report = await awaitRoutingEpoch(
      processes,
      BigInt(this.epochs.frozen ?? this.plan.epoch),
      this.limits,
      this.dependencies.signal,
    );
    this.freezeConfirmation = {
      kind: 'reported',
      processes: processes.map((process) => process.name),
      waitedMs: report.waitedMs,
      rounds: report.rounds,
    };
    this.report(
      'drain',
      'started',
      `${processes.length} process(es) of ${this.plan.sourceCellId} enforce epoch ${report.epoch} after ${report.waitedMs} ms`,
    );
  }

  /**
   * One source transaction locks the moving rows in the cells' own order (payments and holds,
   * then accounts, ascending IDs) and keeps them locked through the final copy, the verification,
   * the flip and the clean: nothing can post to a moving account between the copy and the clean.
   */
  private async lockSource(): Promise<void> {
    this.lock = await this.source.getConnection();
    await prepareSession(this.lock, this.limits.lockWaitSeconds);
    await this.lock.beginTransaction();
    for (const table of ['payments', 'holds', 'accounts']) {
      const prefix = table === 'payments' ? 'pay' : table === 'holds' ? 'hld' : 'acc';
      for (const slot of this.plan.slots) {
        await rows(this.lock, `SELECT id FROM ${table} WHERE id LIKE ? ORDER BY id FOR UPDATE`, [
          slotPattern(prefix, slot),
        ]);
      }
    }
    if (this.plan.settlementTables) {
      const inFlight = [SettlementState.Settling, CrossCellRefundState.Pending] as string[];
      let count = 0;
      for (const prefix of ['pay', 'trf', 'rfd']) {
        for (const slot of this.plan.slots) {
          const found = await rows(
            this.lock,
            'SELECT COUNT(*) AS saga_count FROM settlement_sagas WHERE saga_id LIKE ? AND state IN (?)',
            [slotPattern(prefix, slot), inFlight],
          );
          count += Number(found[0]?.['saga_count'] ?? 0);
        }
      }
      if (count > 0) {
        throw new MigrationError(
          MigrationErrorCode.SettlementInFlight,
          `${count} cross-cell sagas of these slots are still in flight; retry when they settled`,
        );
      }
    }
  }

  private async verify(): Promise<void> {
    const report = await withTarget(this.target, (target) =>
      verifySlots(this.requireLock(), target, this.scope),
    );
    this.verification = report;
    if (!report.ok) {
      throw new MigrationError(
        MigrationErrorCode.VerificationFailed,
        `${report.mismatchCount} differences: ${report.mismatches.slice(0, 5).join('; ')}`,
      );
    }
    await this.dependencies.afterVerify?.(report);
  }

  private async reconcileBoth(sourceKey: 'source', targetKey: 'target'): Promise<void> {
    const reconcile = this.dependencies.reconcile;
    if (reconcile === undefined) return;
    const [source, target] = await Promise.all([
      reconcile(this.plan.sourceCellId),
      reconcile(this.plan.targetCellId),
    ]);
    this.reconciliation[sourceKey] = source;
    this.reconciliation[targetKey] = target;
    const dirty = [source, target].filter((report) => !report.clean);
    if (dirty.length > 0) {
      throw new MigrationError(
        MigrationErrorCode.ReconciliationFailed,
        dirty
          .map(
            (report) =>
              `${report.cellId}: ${report.differenceCount} differences ${JSON.stringify(report.differences.slice(0, 3))}`,
          )
          .join('; '),
      );
    }
  }

  private async flip(): Promise<void> {
    const table = await this.dependencies.routing.moveFrozenSlots(
      this.plan.slots,
      this.plan.sourceCellId,
      this.plan.targetCellId,
      {
        actor: this.request.actor,
        action: 'slots.move',
        subject: `${this.plan.slots.join(',')}:${this.plan.sourceCellId}->${this.plan.targetCellId} (${this.plan.migrationId})`,
      },
    );
    this.flipped = true;
    this.freezeMs = Date.now() - (this.frozenAt ?? Date.now());
    this.epochs.after = table.epoch.toString();
    try {
      await this.dependencies.publishRouting(table);
    } catch (error) {
      // The table is committed; followers also poll the database (every 5 s by default), so the
      // clean goes on rather than leave both cells holding the money.
      this.report('flip', 'failed', `publishing the table failed: ${describe(error)}`);
    }
  }

  /** Postings on the moving accounts that reached the source after the clean committed. */
  private async lateWrites(): Promise<string[]> {
    const found: string[] = [];
    for (const slot of this.plan.slots) {
      const [accounts] = await this.source.query<import('mysql2/promise').RowDataPacket[]>(
        'SELECT id FROM accounts WHERE id LIKE ? AND (balance_minor <> 0 OR held_minor <> 0) LIMIT 100',
        [slotPattern('acc', slot)],
      );
      found.push(...accounts.map((row) => String(row['id'])));
    }
    return found;
  }

  /** Everything before the flip is undone: the source stays authoritative and whole. */
  private async abort(): Promise<void> {
    await this.step('abort-rollback', () => this.releaseLock(true)).catch(() => undefined);
    try {
      const dropped = await this.step('drop-copy', () => this.copier.dropCopy());
      this.droppedFromTarget = dropped;
    } catch {
      // Reported through the timeline; the unfreeze must still run.
    }
    if (this.epochs.frozen !== undefined) {
      await this.step('unfreeze', async () => {
        const table = await this.dependencies.routing.unfreezeSlotsOf(
          this.plan.slots,
          this.plan.sourceCellId,
          {
            actor: this.request.actor,
            action: 'slots.unfreeze',
            subject: `${this.plan.slots.join(',')} (${this.plan.migrationId}, aborted)`,
          },
        );
        this.freezeMs = Date.now() - (this.frozenAt ?? Date.now());
        this.epochs.after = table.epoch.toString();
        await this.dependencies.publishRouting(table);
      }).catch(() => undefined);
    }
  }

  private droppedFromTarget: RowCounts | undefined;

  private async releaseLock(rollback: boolean): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    if (lock === undefined) return;
    try {
      if (rollback) await lock.rollback();
    } finally {
      lock.release();
    }
  }

  private requireLock(): PoolConnection {
    if (this.lock === undefined) throw new Error('the source lock is not held');
    return this.lock;
  }

  private checkNotAborted(): void {
    if (this.dependencies.signal?.aborted === true) {
      throw new MigrationError(MigrationErrorCode.AbortedByOperator, 'stopped by the operator');
    }
  }

  private async step<T>(step: MigrationStep, work: () => Promise<T>): Promise<T> {
    this.checkNotAbortedUnlessUndoing(step);
    const started = Date.now();
    this.report(step, 'started');
    try {
      const result = await work();
      if (!this.flipped) await this.dependencies.afterStep?.(step);
      this.timeline.push({ step, durationMs: Date.now() - started, outcome: 'done' });
      this.report(step, 'done');
      return result;
    } catch (error) {
      this.timeline.push({ step, durationMs: Date.now() - started, outcome: describe(error) });
      this.report(step, 'failed', describe(error));
      throw error;
    }
  }

  private checkNotAbortedUnlessUndoing(step: MigrationStep): void {
    const undoing: MigrationStep[] = [
      'abort-rollback',
      'drop-copy',
      'unfreeze',
      'clean',
      'check-source',
    ];
    if (!undoing.includes(step)) this.checkNotAborted();
  }

  private report(step: MigrationStep, phase: MigrationProgress['phase'], detail?: string): void {
    this.dependencies.onProgress?.({
      step,
      phase,
      elapsedMs: Date.now() - this.startedAt,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  private summary(
    outcome: MigrationSummary['outcome'],
    error: unknown,
    extra: Pick<MigrationSummary, 'clean' | 'lateWritesOnSource'> = {},
  ): MigrationSummary {
    return {
      migrationId: this.plan.migrationId,
      outcome,
      ...(error === undefined
        ? {}
        : {
            error: {
              code: error instanceof MigrationError ? error.code : 'unexpected',
              message: describe(error),
            },
          }),
      slots: this.plan.slots,
      sourceCellId: this.plan.sourceCellId,
      targetCellId: this.plan.targetCellId,
      epochs: this.epochs,
      rounds: this.rounds,
      rowsCopied: this.rowsCopied,
      ...(this.freezeMs === undefined ? {} : { freezeMs: this.freezeMs }),
      ...(this.freezeConfirmation === undefined
        ? {}
        : { freezeConfirmation: this.freezeConfirmation }),
      ...(this.verification === undefined ? {} : { verification: this.verification }),
      reconciliation: this.reconciliation,
      ...(this.droppedFromTarget === undefined
        ? {}
        : { droppedFromTarget: this.droppedFromTarget }),
      ...extra,
      timeline: this.timeline,
      durationMs: Date.now() - this.startedAt,
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The transactions a drain is still waiting for, named for the operator: connection, user,
 * state, how long the transaction and its statement have run, and the statement.
 */
async function openTransactionsBefore(
  connection: PoolConnection,
  database: unknown,
  since: unknown,
): Promise<string> {
  const [open] = await connection.query<import('mysql2/promise').RowDataPacket[]>(
    `SELECT p.id, p.user, p.command, p.time, t.trx_state, t.trx_started,
            LEFT(COALESCE(t.trx_query, p.info, ''), 160) AS statement
       FROM information_schema.innodb_trx t
       JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
      WHERE p.db = ? AND t.trx_started <= ? AND p.id <> CONNECTION_ID()
      ORDER BY t.trx_started LIMIT 5`,
    [database, since],
  );
  return open
    .map(
      (row) =>
        `connection ${String(row['id'])} (${String(row['user'])}, ${String(row['command'])} ${String(row['time'])} s, ${String(row['trx_state'])} since ${String(row['trx_started'])}): ${String(row['statement']) || '(idle in transaction)'}`,
    )
    .join('; ');
}
