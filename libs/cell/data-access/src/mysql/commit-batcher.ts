import { AsyncResource } from 'node:async_hooks';

/** The named limits of commit batching. */
export interface CommitBatchingLimits {
  /** Units of work in one transaction at most. */
  readonly batchSizeMax: number;
  /**
   * How long the first waiting unit may wait for company before its batch starts, when a batch
   * slot is free. Zero: a batch starts as soon as a slot is free (units still gather while every
   * slot is busy committing).
   */
  readonly batchWaitMsMax: number;
  /** Batches (each one transaction on one connection) running at once. */
  readonly batchesInFlightMax: number;
  /** Units waiting for a batch at most; a unit arriving beyond it runs in a transaction of its own. */
  readonly queuedUnitsMax: number;
  /**
   * Whether a batch of one unit still runs inside a savepoint of a batch transaction. Off (the
   * default) it runs as a plain unit of work, which costs two round trips less; the contract
   * tests turn it on to drive every unit through the savepoint path.
   */
  readonly singleUnitsBatched: boolean;
}

/** One batch transaction on one connection, as the batcher drives it. */
export interface BatchSession<Tx> {
  /** The transaction API every unit of the batch works with. */
  readonly transaction: Tx;
  savepoint(name: string): Promise<void>;
  rollbackToSavepoint(name: string): Promise<void>;
  commit(): Promise<void>;
  /** Gives the connection back after a commit. */
  release(): void;
  /** Rolls the transaction back (best effort) and gives back or discards the connection. */
  abandon(cause: unknown): Promise<void>;
}

/** What the batcher needs from the store: batch transactions, the plain path, error kinds. */
export interface BatchBackend<Tx> {
  begin(): Promise<BatchSession<Tx>>;
  /** The plain unit of work with the store's retry policy: one transaction per unit. */
  runAlone<T>(operation: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Whether an error ended or poisoned the whole transaction (deadlock, lock-wait timeout, lost
   * connection), so no unit of the batch may commit from it.
   */
  endsTransaction(error: unknown): boolean;
}

interface QueuedUnit<Tx> {
  readonly operation: string;
  readonly work: (tx: Tx) => Promise<unknown>;
  /** The caller's async context (request context, shadow flag), restored while the unit runs. */
  readonly scope: AsyncResource;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** Counters of what the batcher did, for tests and for the bench's notes. */
export interface CommitBatcherStats {
  /** Batch transactions committed, and the units they carried (refused units included). */
  batchesCommitted: number;
  unitsCommittedInBatches: number;
  /** Batch transactions given up (deadlock, lost connection) whose units then ran one by one. */
  batchesAbandoned: number;
  /** Units that ran as plain units of work (alone in their batch, queue full, abandoned batch). */
  unitsRunAlone: number;
}

/**
 * Runs concurrent units of work in shared transactions: each unit inside its own SAVEPOINT, one
 * COMMIT per batch, and no caller hears anything (result or refusal) before that COMMIT returned.
 *
 * - A unit that throws while the transaction stays usable is rolled back to its savepoint alone
 *   and gets its own error once the batch committed.
 * - An error that ends the transaction (deadlock, lock-wait timeout, lost connection), or a
 *   savepoint that cannot be rolled back to, abandons the batch before any COMMIT was sent: the
 *   server rolled it back or will on disconnect, so nothing of it exists, and every unit of the
 *   batch runs again as a plain unit of work under the store's retry policy. Each unit's effects
 *   therefore exist at most once.
 * - A failed COMMIT is in doubt (the connection may have died after the server committed), so the
 *   batch is not re-run: every unit gets the commit's error, exactly as a plain unit of work
 *   whose COMMIT failed; clients retry with their idempotency keys.
 */
export class CommitBatcher<Tx> {
  private readonly queue: QueuedUnit<Tx>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: CommitBatcherStats = {
    batchesCommitted: 0,
    unitsCommittedInBatches: 0,
    batchesAbandoned: 0,
    unitsRunAlone: 0,
  };

  constructor(
    private readonly backend: BatchBackend<Tx>,
    private readonly limits: CommitBatchingLimits,
  ) {
    if (limits.batchSizeMax < 1 || limits.batchesInFlightMax < 1 || limits.queuedUnitsMax < 1) {
      throw new Error('commit batching limits must be at least 1');
    }
    if (limits.batchWaitMsMax < 0) throw new Error('batchWaitMsMax must not be negative');
  }

  submit<T>(operation: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.queue.length >= this.limits.queuedUnitsMax) {
      this.stats.unitsRunAlone += 1;
      return this.backend.runAlone(operation, work);
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        operation,
        work,
        scope: new AsyncResource('cellpay.batched-unit'),
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.pump(this.limits.batchWaitMsMax === 0);
    });
  }

  /** Units waiting for a batch now. */
  get queuedUnits(): number {
    return this.queue.length;
  }

  /**
   * Starts batches while slots are free. Until the wait window ends, a batch starts early only
   * when it is full; units that queued while every slot was busy start as soon as one frees.
   */
  private pump(windowEnded: boolean): void {
    while (this.inFlight < this.limits.batchesInFlightMax && this.queue.length > 0) {
      if (!windowEnded && this.queue.length < this.limits.batchSizeMax) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump(true);
        }, this.limits.batchWaitMsMax);
        return;
      }
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      const units = this.queue.splice(0, this.limits.batchSizeMax);
      this.inFlight += 1;
      void this.execute(units)
        // A bug in the batcher must not leave callers waiting forever; settled units ignore it.
        .catch((error: unknown) => {
          for (const unit of units) unit.reject(error);
        })
        .finally(() => {
          this.inFlight -= 1;
          this.pump(true);
        });
    }
  }

  private async execute(units: QueuedUnit<Tx>[]): Promise<void> {
    if (units.length === 1 && !this.limits.singleUnitsBatched) {
      await this.runEachAlone(units);
      return;
    }
    let outcomes: Outcome[] | undefined;
    try {
      outcomes = await this.runTogether(units);
    } catch (error) {
      // The COMMIT failed: in doubt, so every unit gets its error and nothing runs again.
      for (const unit of units) unit.reject(error);
      return;
    }
    if (outcomes === undefined) {
      this.stats.batchesAbandoned += 1;
      await this.runEachAlone(units);
      return;
    }
    this.stats.batchesCommitted += 1;
    this.stats.unitsCommittedInBatches += units.length;
    units.forEach((unit, index) => {
      const outcome = outcomes[index];
      if (outcome === undefined) unit.reject(new Error('batch outcome missing'));
      else if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }

  /**
   * One transaction for all units. Returns their outcomes after a successful COMMIT, undefined
   * when the batch was abandoned before any COMMIT was sent, and throws when the COMMIT failed.
   */
  private async runTogether(units: readonly QueuedUnit<Tx>[]): Promise<Outcome[] | undefined> {
    let session: BatchSession<Tx>;
    try {
      session = await this.backend.begin();
    } catch {
      // No transaction was opened: the units run on their own, and fail on their own if the
      // server is really gone.
      return undefined;
    }
    const outcomes: Outcome[] = [];
    for (const [index, unit] of units.entries()) {
      const savepoint = `batch_unit_${index + 1}`;
      try {
        await session.savepoint(savepoint);
      } catch (error) {
        await session.abandon(error);
        return undefined;
      }
      try {
        const value = await unit.scope.runInAsyncScope(() => unit.work(session.transaction));
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (this.backend.endsTransaction(error)) {
          await session.abandon(error);
          return undefined;
        }
        try {
          // Fails when the transaction is gone (the savepoint went with it): abandon then.
          await session.rollbackToSavepoint(savepoint);
        } catch (rollbackError) {
          await session.abandon(rollbackError);
          return undefined;
        }
        outcomes.push({ ok: false, error });
      }
    }
    try {
      await session.commit();
    } catch (error) {
      await session.abandon(error);
      throw error;
    }
    session.release();
    return outcomes;
  }

  private async runEachAlone(units: readonly QueuedUnit<Tx>[]): Promise<void> {
    this.stats.unitsRunAlone += units.length;
    await Promise.all(
      units.map(async (unit) => {
        try {
          unit.resolve(
            await unit.scope.runInAsyncScope(() =>
              this.backend.runAlone(unit.operation, unit.work),
            ),
          );
        } catch (error) {
          unit.reject(error);
        }
      }),
    );
  }
}
