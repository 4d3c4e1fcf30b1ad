import {
  CellError,
  CellErrorCode,
  type CellTransaction,
  type UnitOfWork,
  type UnitOfWorkOptions,
} from '@cellpay/cell-domain';

/**
 * The cell's units of work with a door that closes at shutdown: once `stopAccepting()` was
 * called, a new unit is refused as the retryable `shard_unavailable` (gRPC UNAVAILABLE) and never
 * reaches the pool, while units already running finish; `drained()` tells when they have. The
 * pool is closed only after that, so no call meets a closed pool ("Pool is closed").
 */
export class DrainingUnitOfWork implements UnitOfWork {
  private running = 0;
  private accepting = true;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly inner: UnitOfWork) {}

  get inFlight(): number {
    return this.running;
  }

  async run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    if (!this.accepting) {
      throw new CellError(
        CellErrorCode.ShardUnavailable,
        `${operation}: the cell is shutting down; retry`,
      );
    }
    this.running += 1;
    try {
      return await this.inner.run(operation, work, options);
    } finally {
      this.running -= 1;
      if (this.running === 0) for (const wake of this.waiters) wake();
    }
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves true once no unit runs, or false when `limitMs` passed first. */
  drained(limitMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (drained: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(drained);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), limitMs);
      this.waiters.add(wake);
    });
  }
}
