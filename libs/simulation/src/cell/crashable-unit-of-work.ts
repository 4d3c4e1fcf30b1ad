import type {
  Account,
  CellTransaction,
  Journal,
  UnitOfWork,
  UnitOfWorkOptions,
} from '@cellpay/cell-domain';
import type { MemoryCellStore } from '@cellpay/cell-data-access';

import type { SimProcess } from './sim-process';

/** What the invariant checker wants to see at the moment money is written. */
export interface WriteObserver {
  journalInserted(cellId: string, journal: Journal): void;
  balanceWritten(cellId: string, account: Account): void;
  /** A transaction that wrote something committed (for the slot-ownership check). */
  writeCommitted(cellId: string, processName: string): void;
  /** An idempotency key was completed by a committed transaction: the operation was applied. */
  keyCommitted(cellId: string, scope: string, key: string, responseJson: string): void;
}

const writeMethods = new Set([
  'insert',
  'update',
  'updateBalance',
  'claim',
  'complete',
  'insertVoucher',
  'saveDayClose',
]);

type Method = (...args: unknown[]) => unknown;

/**
 * A process's view of its shard: the real in-memory store (the database, which survives the
 * process) behind a wrapper that lets a crash strike at any storage call (the transaction then
 * rolls back, as an uncommitted transaction vanishes) or right after a commit (the work stays, the
 * reply is lost), and that shows every journal and balance write to the invariant checker.
 */
export class CrashableUnitOfWork implements UnitOfWork {
  private commitHooks: (() => void)[] | undefined;

  constructor(
    private readonly store: MemoryCellStore,
    private readonly process: SimProcess,
    private readonly cellId: string,
    private readonly observer: WriteObserver,
  ) {}

  async run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    this.process.beforeStorageCall();
    let wrote = false;
    const hooks: (() => void)[] = [];
    // The memory store runs one transaction at a time, so every unit already reads a consistent
    // snapshot and `options` needs no handling here.
    void options;
    const result = await this.store.run(operation, async (tx): Promise<T> => {
      this.commitHooks = hooks;
      try {
        return await work(
          this.instrument(tx, () => {
            wrote = true;
          }),
        );
      } finally {
        this.commitHooks = undefined;
      }
    });
    if (wrote) this.observer.writeCommitted(this.cellId, this.process.name);
    for (const hook of hooks) hook();
    this.process.afterCommit();
    return result;
  }

  /** Runs `hook` once the current transaction commits; never if it rolls back. */
  afterCommit(hook: () => void): void {
    if (this.commitHooks === undefined) throw new Error('afterCommit outside a transaction');
    this.commitHooks.push(hook);
  }

  private instrument(tx: CellTransaction, onWrite: () => void): CellTransaction {
    const wrap = <R extends object>(repository: R, name: string): R => {
      const wrapped: Record<string, unknown> = {};
      for (const [method, value] of Object.entries(repository)) {
        if (typeof value !== 'function') {
          wrapped[method] = value;
          continue;
        }
        wrapped[method] = (...args: unknown[]): unknown => {
          this.process.beforeStorageCall();
          if (writeMethods.has(method)) onWrite();
          if (name === 'journals' && method === 'insert') {
            this.observer.journalInserted(this.cellId, args[0] as Journal);
          }
          if (name === 'accounts' && method === 'updateBalance') {
            this.observer.balanceWritten(this.cellId, args[0] as Account);
          }
          if (name === 'idempotency' && method === 'complete') {
            const [scope, key, responseJson] = args as [string, string, string];
            this.afterCommit(() =>
              this.observer.keyCommitted(this.cellId, scope, key, responseJson),
            );
          }
          return (value as Method)(...args);
        };
      }
      return wrapped as R;
    };
    return {
      handle: tx.handle,
      accounts: wrap(tx.accounts, 'accounts'),
      journals: wrap(tx.journals, 'journals'),
      payments: wrap(tx.payments, 'payments'),
      refunds: wrap(tx.refunds, 'refunds'),
      holds: wrap(tx.holds, 'holds'),
      transfers: wrap(tx.transfers, 'transfers'),
      idempotency: wrap(tx.idempotency, 'idempotency'),
      generalLedger: wrap(tx.generalLedger, 'generalLedger'),
    };
  }
}
