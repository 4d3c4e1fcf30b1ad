import type { CurrencyCode } from '@cellpay/money';

import type { Account, AccountKind } from './account';
import type { IdKind } from './ids';
import type { Hold } from './hold';
import type { Journal, JournalLine } from './journal';
import type { Payment, Refund } from './payment';
import type { Transfer } from './transfer';
import type { ClosedSubjectBalance, SubjectDayBalance, Voucher } from './general-ledger';

/** Time, injected so a simulator can run the cell on a seeded clock. */
export interface Clock {
  now(): Date;
}

/** IDs, injected so a simulator can hand out reproducible ones. */
export interface IdGenerator {
  next(kind: IdKind, slot: number): string;
}

/** The degradation switch that defers general-ledger posting (journals are never deferred). */
export interface GlPostingSwitch {
  isGlPostingDeferred(): boolean;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export interface AccountRepository {
  insert(account: Account): Promise<void>;
  findById(id: string): Promise<Account | undefined>;
  findByKey(
    kind: AccountKind,
    ownerId: string,
    currency: CurrencyCode,
  ): Promise<Account | undefined>;
  /** Locks the accounts for the rest of the transaction, always in ascending ID order. */
  lockForUpdate(ids: readonly string[]): Promise<ReadonlyMap<string, Account>>;
  updateBalance(account: Account): Promise<void>;
  /** Accounts in ID order after `afterId`, at most `limit`. */
  listAfter(afterId: string, limit: number): Promise<readonly Account[]>;
}

export interface StatementLine extends JournalLine {
  /** Position in the shard's append order; statements page on it. */
  readonly sequence: bigint;
  readonly journalId: string;
  readonly lineNumber: number;
  readonly createdAt: Date;
  readonly journalKind: string;
}

export interface AccountLineTotal {
  readonly accountId: string;
  readonly debitMinor: bigint;
  readonly creditMinor: bigint;
}

export interface JournalRepository {
  insert(journal: Journal): Promise<void>;
  findById(id: string): Promise<Journal | undefined>;
  findByReference(referenceId: string): Promise<readonly Journal[]>;
  /** An account's lines, newest first, strictly before `beforeSequence` when given. */
  listLinesOfAccount(
    accountId: string,
    beforeSequence: bigint | undefined,
    limit: number,
  ): Promise<readonly StatementLine[]>;
  totalsForAccounts(accountIds: readonly string[]): Promise<readonly AccountLineTotal[]>;
  /** Journals in ID order after `afterId`, at most `limit`. */
  listAfter(afterId: string, limit: number): Promise<readonly Journal[]>;
}

export interface PaymentRepository {
  insert(payment: Payment): Promise<void>;
  findById(id: string): Promise<Payment | undefined>;
  findByOutTradeNo(merchantId: string, outTradeNo: string): Promise<Payment | undefined>;
  lockForUpdate(id: string): Promise<Payment | undefined>;
  update(payment: Payment): Promise<void>;
  listAfter(afterId: string, limit: number): Promise<readonly Payment[]>;
  /** Authorized payments whose authorization lapsed at or before `now`, oldest first. */
  listLapsedAuthorizations(now: Date, limit: number): Promise<readonly Payment[]>;
}

export interface RefundRepository {
  insert(refund: Refund): Promise<void>;
  findById(id: string): Promise<Refund | undefined>;
  listByPayment(paymentId: string): Promise<readonly Refund[]>;
  listAfter(afterId: string, limit: number): Promise<readonly Refund[]>;
}

export interface HoldRepository {
  insert(hold: Hold): Promise<void>;
  findById(id: string): Promise<Hold | undefined>;
  lockForUpdate(id: string): Promise<Hold | undefined>;
  update(hold: Hold): Promise<void>;
  listExpiredOpen(now: Date, limit: number): Promise<readonly Hold[]>;
  /** The sum of open holds per account, for the accounts given (absent: no open hold). */
  openTotalsForAccounts(accountIds: readonly string[]): Promise<ReadonlyMap<string, bigint>>;
}

export interface TransferRepository {
  insert(transfer: Transfer): Promise<void>;
  findById(id: string): Promise<Transfer | undefined>;
}

export interface IdempotencyRecord {
  readonly scope: string;
  readonly key: string;
  readonly requestHash: string;
  /** The serialized response, stored once and returned byte for byte on every retry. */
  readonly responseJson: string;
}

export interface IdempotencyRepository {
  find(scope: string, key: string): Promise<IdempotencyRecord | undefined>;
  /**
   * Claims the key; throws `IdempotencyKeyTaken` if another transaction holds or committed it.
   * With MySQL a concurrent claimant waits on the unique index until the holder ends.
   */
  claim(record: IdempotencyRecord): Promise<void>;
  complete(scope: string, key: string, responseJson: string): Promise<void>;
}

export class IdempotencyKeyTaken extends Error {
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(`idempotency key ${scope}/${key} is taken`);
    this.name = 'IdempotencyKeyTaken';
  }
}

export interface GeneralLedgerRepository {
  insertVoucher(voucher: Voucher): Promise<void>;
  /** The vouchers of the given journals (absent: not posted yet). */
  findVouchers(journalIds: readonly string[]): Promise<ReadonlyMap<string, Voucher>>;
  /** Journals without a voucher, in ID order, at most `limit` (the deferred-posting backlog). */
  listUnpostedJournals(limit: number): Promise<readonly Journal[]>;
  countUnpostedJournals(): Promise<number>;
  /** Debit and credit totals per subject and currency of the vouchers of one business day. */
  totalsOfDay(businessDay: string): Promise<readonly SubjectDayBalance[]>;
  saveDayClose(businessDay: string, balances: readonly ClosedSubjectBalance[]): Promise<void>;
  findDayClose(businessDay: string): Promise<readonly ClosedSubjectBalance[] | undefined>;
  latestClosedDay(): Promise<string | undefined>;
}

/**
 * What a transaction is, for modules outside the cell core that must enlist their own writes in
 * the same shard transaction (settlement's outbox rows): the adapter and its native handle, and
 * whether it works on the shadow tables (stress traffic), so enlisted writes follow it there.
 */
export type TransactionHandle =
  | {
      readonly adapter: 'mysql';
      readonly connection: unknown;
      readonly tablePrefix: string;
      readonly shadow: boolean;
    }
  | { readonly adapter: 'memory'; readonly shadow: boolean; onRollback(undo: () => void): void };

export interface CellTransaction {
  readonly accounts: AccountRepository;
  readonly journals: JournalRepository;
  readonly payments: PaymentRepository;
  readonly refunds: RefundRepository;
  readonly holds: HoldRepository;
  readonly transfers: TransferRepository;
  readonly idempotency: IdempotencyRepository;
  readonly generalLedger: GeneralLedgerRepository;
  readonly handle: TransactionHandle;
}

/**
 * The one way to write to a cell's shard: everything `work` does commits together or not at all.
 * Adapters retry the whole unit on deadlock or lock timeout a bounded number of times, so `work`
 * must not have effects outside the transaction.
 */
export interface UnitOfWork {
  run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T>;
}

export interface UnitOfWorkOptions {
  /**
   * Read everything from one consistent snapshot (reconciliation): every statement of the unit
   * sees the shard as of its start, whatever commits meanwhile.
   */
  readonly consistentSnapshot?: boolean;
}
