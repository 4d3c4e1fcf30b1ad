import type { CellTransaction, UnitOfWork, UnitOfWorkOptions } from '@cellpay/cell-domain';
import { type CellpayMetrics, DbTransactionTimer } from '@cellpay/observability';

/** Operation names are constants of the calling code; this bounds the label set regardless. */
const operationsMax = 64;

/**
 * Times every unit of work of the cell (begin to commit, retries included) into
 * `cellpay_db_transaction_duration_seconds`, without the store knowing about metrics.
 */
export class TimedUnitOfWork implements UnitOfWork {
  private readonly timers = new Map<string, DbTransactionTimer>();

  constructor(
    private readonly inner: UnitOfWork,
    private readonly metrics: Pick<CellpayMetrics, 'dbTransactionDurationSeconds'>,
    private readonly cellId: string,
  ) {}

  run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    return this.timerFor(operation).time(() => this.inner.run(operation, work, options));
  }

  private timerFor(operation: string): DbTransactionTimer {
    const known = this.timers.get(operation);
    if (known !== undefined) return known;
    const label = this.timers.size < operationsMax ? operation : 'other';
    const timer =
      this.timers.get(label) ??
      new DbTransactionTimer(this.metrics, { cell: this.cellId, operation: label });
    this.timers.set(operation, timer);
    return timer;
  }
}
