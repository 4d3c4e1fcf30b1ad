import {
  type Account,
  type AccountKind,
  type AccountLineTotal,
  type CellTransaction,
  type ClosedSubjectBalance,
  type Hold,
  HoldStatus,
  IdempotencyKeyTaken,
  type IdempotencyRecord,
  type Journal,
  type Payment,
  PaymentStatus,
  type Refund,
  type StatementLine,
  type SubjectDayBalance,
  type Transfer,
  type UnitOfWork,
  type Voucher,
} from '@cellpay/cell-domain';
import type { CurrencyCode } from '@cellpay/money';
import { isStressTraffic } from '@cellpay/observability';

/** Everything one in-memory cell holds; the counterpart of the shard's tables. */
class MemoryCellState {
  readonly accounts = new Map<string, Account>();
  readonly accountKeys = new Map<string, string>();
  readonly journals = new Map<string, Journal>();
  readonly journalsByReference = new Map<string, string[]>();
  readonly linesByAccount = new Map<string, StatementLine[]>();
  readonly payments = new Map<string, Payment>();
  readonly paymentKeys = new Map<string, string>();
  readonly refunds = new Map<string, Refund>();
  readonly holds = new Map<string, Hold>();
  readonly transfers = new Map<string, Transfer>();
  readonly idempotency = new Map<string, IdempotencyRecord>();
  readonly vouchers = new Map<string, Voucher>();
  readonly dayCloses = new Map<string, readonly ClosedSubjectBalance[]>();
  lineSequence = 0n;
}

function sortedAfter<T>(
  values: Iterable<T>,
  idOf: (value: T) => string,
  afterId: string,
  limit: number,
): T[] {
  return [...values]
    .filter((value) => idOf(value) > afterId)
    .sort((left, right) => (idOf(left) < idOf(right) ? -1 : 1))
    .slice(0, limit);
}

function accountKey(kind: AccountKind, ownerId: string, currency: CurrencyCode): string {
  return `${kind}|${ownerId}|${currency}`;
}

/**
 * The in-memory adapter of the cell's ports, for the embedded mode and the simulator. Transactions
 * run one at a time (a promise chain acts as the shard's lock manager) and keep an undo log, so a
 * failed unit of work leaves no trace, exactly like a rolled-back shard transaction.
 */
export class MemoryCellStore implements UnitOfWork {
  /**
   * The live tables and, apart, the shadow tables stress traffic writes to: the in-memory
   * counterpart of the shard's `shadow_` copies, chosen per unit of work from the request context.
   */
  private readonly live = new MemoryCellState();
  private readonly shadow = new MemoryCellState();
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(_operation: string, work: (tx: CellTransaction) => Promise<T>): Promise<T> {
    const shadow = isStressTraffic();
    const result = this.tail.then(() => this.runExclusive(shadow, work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runExclusive<T>(
    shadow: boolean,
    work: (tx: CellTransaction) => Promise<T>,
  ): Promise<T> {
    const undoLog: (() => void)[] = [];
    try {
      return await work(this.transaction(shadow, undoLog));
    } catch (error) {
      for (const undo of undoLog.reverse()) undo();
      throw error;
    }
  }

  private transaction(shadow: boolean, undoLog: (() => void)[]): CellTransaction {
    const state = shadow ? this.shadow : this.live;
    const put = <K, V>(map: Map<K, V>, key: K, value: V): void => {
      const had = map.has(key);
      const previous = map.get(key);
      map.set(key, value);
      undoLog.push(() => {
        if (had) map.set(key, previous as V);
        else map.delete(key);
      });
    };
    const append = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
      const list = map.get(key) ?? [];
      if (!map.has(key)) put(map, key, list);
      list.push(value);
      undoLog.push(() => list.pop());
    };
    const copy = <T>(value: T | undefined): T | undefined =>
      value === undefined ? undefined : { ...value };
    return {
      handle: { adapter: 'memory', shadow, onRollback: (undo) => undoLog.push(undo) },
      accounts: {
        insert: async (account) => {
          const key = accountKey(account.kind, account.ownerId, account.currency);
          if (state.accounts.has(account.id) || state.accountKeys.has(key)) {
            throw new Error(`duplicate account ${account.id}`);
          }
          put(state.accounts, account.id, { ...account });
          put(state.accountKeys, key, account.id);
        },
        findById: async (id) => copy(state.accounts.get(id)),
        findByKey: async (kind, ownerId, currency) => {
          const id = state.accountKeys.get(accountKey(kind, ownerId, currency));
          return id === undefined ? undefined : copy(state.accounts.get(id));
        },
        lockForUpdate: async (ids) => {
          const locked = new Map<string, Account>();
          for (const id of [...new Set(ids)].sort()) {
            const account = state.accounts.get(id);
            if (account !== undefined) locked.set(id, { ...account });
          }
          return locked;
        },
        updateBalance: async (account) => {
          const current = state.accounts.get(account.id);
          if (current === undefined) throw new Error(`no account ${account.id} to update`);
          put(state.accounts, account.id, {
            ...current,
            balanceMinor: account.balanceMinor,
            heldMinor: account.heldMinor,
          });
        },
        listAfter: async (afterId, limit) =>
          sortedAfter(state.accounts.values(), (a) => a.id, afterId, limit),
      },
      journals: {
        insert: async (journal) => {
          if (state.journals.has(journal.id)) throw new Error(`duplicate journal ${journal.id}`);
          put(state.journals, journal.id, journal);
          append(state.journalsByReference, journal.referenceId, journal.id);
          journal.lines.forEach((line, index) => {
            state.lineSequence += 1n;
            const sequence = state.lineSequence;
            undoLog.push(() => {
              state.lineSequence = sequence - 1n;
            });
            append(state.linesByAccount, line.accountId, {
              ...line,
              sequence,
              journalId: journal.id,
              lineNumber: index + 1,
              createdAt: journal.createdAt,
              journalKind: journal.kind,
            });
          });
        },
        findById: async (id) => state.journals.get(id),
        findByReference: async (referenceId) =>
          (state.journalsByReference.get(referenceId) ?? []).flatMap((id) => {
            const journal = state.journals.get(id);
            return journal === undefined ? [] : [journal];
          }),
        listLinesOfAccount: async (accountId, beforeSequence, limit) =>
          [...(state.linesByAccount.get(accountId) ?? [])]
            .reverse()
            .filter((line) => beforeSequence === undefined || line.sequence < beforeSequence)
            .slice(0, limit),
        totalsForAccounts: async (accountIds) =>
          accountIds.map((accountId): AccountLineTotal => {
            let debitMinor = 0n;
            let creditMinor = 0n;
            for (const line of state.linesByAccount.get(accountId) ?? []) {
              if (line.direction === 'debit') debitMinor += line.amountMinor;
              else creditMinor += line.amountMinor;
            }
            return { accountId, debitMinor, creditMinor };
          }),
        listAfter: async (afterId, limit) =>
          sortedAfter(state.journals.values(), (j) => j.id, afterId, limit),
      },
      payments: {
        insert: async (payment) => {
          const key = `${payment.merchantId}|${payment.outTradeNo}`;
          if (state.payments.has(payment.id) || state.paymentKeys.has(key)) {
            throw new Error(`duplicate payment ${payment.id}`);
          }
          put(state.payments, payment.id, { ...payment });
          put(state.paymentKeys, key, payment.id);
        },
        findById: async (id) => copy(state.payments.get(id)),
        findByOutTradeNo: async (merchantId, outTradeNo) => {
          const id = state.paymentKeys.get(`${merchantId}|${outTradeNo}`);
          return id === undefined ? undefined : copy(state.payments.get(id));
        },
        lockForUpdate: async (id) => copy(state.payments.get(id)),
        update: async (payment) => put(state.payments, payment.id, { ...payment }),
        listAfter: async (afterId, limit) =>
          sortedAfter(state.payments.values(), (p) => p.id, afterId, limit),
        listLapsedAuthorizations: async (now, limit) =>
          [...state.payments.values()]
            .filter(
              (p) =>
                p.status === PaymentStatus.Authorized &&
                p.authorizationExpiresAt !== undefined &&
                p.authorizationExpiresAt.getTime() <= now.getTime(),
            )
            .sort(
              (l, r) =>
                (l.authorizationExpiresAt?.getTime() ?? 0) -
                (r.authorizationExpiresAt?.getTime() ?? 0),
            )
            .slice(0, limit)
            .map((p) => ({ ...p })),
      },
      refunds: {
        insert: async (refund) => put(state.refunds, refund.id, { ...refund }),
        findById: async (id) => copy(state.refunds.get(id)),
        listByPayment: async (paymentId) =>
          [...state.refunds.values()].filter((refund) => refund.paymentId === paymentId),
        listAfter: async (afterId, limit) =>
          sortedAfter(state.refunds.values(), (r) => r.id, afterId, limit),
      },
      holds: {
        insert: async (hold) => put(state.holds, hold.id, { ...hold }),
        findById: async (id) => copy(state.holds.get(id)),
        lockForUpdate: async (id) => copy(state.holds.get(id)),
        update: async (hold) => put(state.holds, hold.id, { ...hold }),
        listExpiredOpen: async (now, limit) =>
          [...state.holds.values()]
            .filter((h) => h.status === HoldStatus.Open && h.expiresAt.getTime() <= now.getTime())
            .slice(0, limit),
        openTotalsForAccounts: async (accountIds) => {
          const wanted = new Set(accountIds);
          const totals = new Map<string, bigint>();
          for (const hold of state.holds.values()) {
            if (hold.status !== HoldStatus.Open || !wanted.has(hold.accountId)) continue;
            totals.set(hold.accountId, (totals.get(hold.accountId) ?? 0n) + hold.amountMinor);
          }
          return totals;
        },
      },
      transfers: {
        insert: async (transfer) => put(state.transfers, transfer.id, { ...transfer }),
        findById: async (id) => copy(state.transfers.get(id)),
      },
      idempotency: {
        find: async (scope, key) => copy(state.idempotency.get(`${scope}|${key}`)),
        claim: async (record) => {
          const mapKey = `${record.scope}|${record.key}`;
          if (state.idempotency.has(mapKey))
            throw new IdempotencyKeyTaken(record.scope, record.key);
          put(state.idempotency, mapKey, { ...record });
        },
        complete: async (scope, key, responseJson) => {
          const mapKey = `${scope}|${key}`;
          const record = state.idempotency.get(mapKey);
          if (record === undefined) throw new Error(`idempotency key ${mapKey} was not claimed`);
          put(state.idempotency, mapKey, { ...record, responseJson });
        },
      },
      generalLedger: {
        insertVoucher: async (voucher) => {
          if (state.vouchers.has(voucher.journalId)) {
            throw new Error(`journal ${voucher.journalId} is already posted`);
          }
          put(state.vouchers, voucher.journalId, voucher);
        },
        findVouchers: async (journalIds) => {
          const found = new Map<string, Voucher>();
          for (const id of journalIds) {
            const voucher = state.vouchers.get(id);
            if (voucher !== undefined) found.set(id, voucher);
          }
          return found;
        },
        listUnpostedJournals: async (limit) =>
          sortedAfter(
            [...state.journals.values()].filter((journal) => !state.vouchers.has(journal.id)),
            (j) => j.id,
            '',
            limit,
          ),
        countUnpostedJournals: async () => state.journals.size - state.vouchers.size,
        totalsOfDay: async (businessDay) => {
          const totals = new Map<string, SubjectDayBalance>();
          for (const voucher of state.vouchers.values()) {
            if (voucher.businessDay !== businessDay) continue;
            for (const line of voucher.lines) {
              const key = `${line.subjectCode}|${line.currency}`;
              const row = totals.get(key) ?? {
                businessDay,
                subjectCode: line.subjectCode,
                currency: line.currency,
                debitMinor: 0n,
                creditMinor: 0n,
              };
              totals.set(key, {
                ...row,
                debitMinor: row.debitMinor + (line.direction === 'debit' ? line.amountMinor : 0n),
                creditMinor:
                  row.creditMinor + (line.direction === 'credit' ? line.amountMinor : 0n),
              });
            }
          }
          return [...totals.values()].sort((l, r) =>
            `${l.subjectCode}|${l.currency}` < `${r.subjectCode}|${r.currency}` ? -1 : 1,
          );
        },
        saveDayClose: async (businessDay, balances) => {
          if (state.dayCloses.has(businessDay)) throw new Error(`day ${businessDay} is closed`);
          put(state.dayCloses, businessDay, balances);
        },
        findDayClose: async (businessDay) => state.dayCloses.get(businessDay),
        latestClosedDay: async () => [...state.dayCloses.keys()].sort().at(-1),
      },
    };
  }
}
