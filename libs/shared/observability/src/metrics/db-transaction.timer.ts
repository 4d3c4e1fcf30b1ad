import type { Histogram } from 'prom-client';
import { performance } from 'node:perf_hooks';
import type { CellpayMetrics } from './metrics-registry';

export interface DbTransactionLabels {
  readonly cell: string;
  /** A constant of the calling code (`pay_same_cell`, `apply_inbound_event`), never user input. */
  readonly operation: string;
}

/**
 * Times the transactions of one kind on a shard, begin to commit (or rollback). Create one per
 * (cell, operation) at startup; like GrpcCallTimer, a transaction then costs a clock read and one
 * histogram observation.
 */
export class DbTransactionTimer {
  private readonly duration: ReturnType<Histogram<'cell' | 'operation'>['labels']>;

  constructor(
    metrics: Pick<CellpayMetrics, 'dbTransactionDurationSeconds'>,
    labels: DbTransactionLabels,
  ) {
    this.duration = metrics.dbTransactionDurationSeconds.labels(labels);
  }

  start(): number {
    return performance.now();
  }

  finish(startedAtMs: number): void {
    this.duration.observe((performance.now() - startedAtMs) / 1000);
  }

  /** Times `transaction` whether it commits or throws; the error is rethrown unchanged. */
  async time<T>(transaction: () => Promise<T>): Promise<T> {
    const startedAtMs = this.start();
    try {
      return await transaction();
    } finally {
      this.finish(startedAtMs);
    }
  }
}
