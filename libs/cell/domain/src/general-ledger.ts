import type { CurrencyCode } from '@cellpay/money';

import { AccountKind } from './account';
import { assertInvariant } from './cell-error';
import { type Direction, type Journal } from './journal';

export type SubjectCategory = 'asset' | 'liability' | 'income';

export interface Subject {
  readonly code: string;
  readonly name: string;
  readonly category: SubjectCategory;
}

/** The chart of accounts: every account kind rolls up into exactly one general-ledger subject. */
export const chartOfAccounts: Readonly<Record<AccountKind, Subject>> = {
  [AccountKind.ExternalFunding]: {
    code: '1001',
    name: 'Funds held at external institutions',
    category: 'asset',
  },
  [AccountKind.Clearing]: { code: '1201', name: 'Inter-cell clearing', category: 'asset' },
  [AccountKind.UserWallet]: {
    code: '2001',
    name: 'Customer wallet deposits',
    category: 'liability',
  },
  [AccountKind.Merchant]: { code: '2002', name: 'Merchant payables', category: 'liability' },
  [AccountKind.Suspense]: { code: '2901', name: 'Suspense', category: 'liability' },
  [AccountKind.FeeIncome]: { code: '6001', name: 'Fee income', category: 'income' },
};

export interface VoucherLine {
  readonly subjectCode: string;
  readonly direction: Direction;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
}

/** A general-ledger voucher: one journal, its lines rolled up by subject. */
export interface Voucher {
  readonly journalId: string;
  /** The UTC calendar day of the journal, `YYYY-MM-DD`. */
  readonly businessDay: string;
  readonly postedAt: Date;
  readonly lines: readonly VoucherLine[];
}

export interface SubjectDayBalance {
  readonly businessDay: string;
  readonly subjectCode: string;
  readonly currency: CurrencyCode;
  readonly debitMinor: bigint;
  readonly creditMinor: bigint;
}

/** A subject's movement on a closed day and its balance at the end of it (credits minus debits). */
export interface ClosedSubjectBalance extends SubjectDayBalance {
  readonly closingMinor: bigint;
}

export function businessDayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function voucherOf(
  journal: Journal,
  kindOf: ReadonlyMap<string, AccountKind>,
  postedAt: Date,
): Voucher {
  const totals = new Map<string, VoucherLine>();
  for (const line of journal.lines) {
    const kind = kindOf.get(line.accountId);
    assertInvariant(
      kind !== undefined,
      `journal ${journal.id} names unknown account ${line.accountId}`,
    );
    const subjectCode = chartOfAccounts[kind].code;
    const key = `${subjectCode}|${line.direction}|${line.currency}`;
    const previous = totals.get(key);
    totals.set(key, {
      subjectCode,
      direction: line.direction,
      currency: line.currency,
      amountMinor: (previous?.amountMinor ?? 0n) + line.amountMinor,
    });
  }
  return {
    journalId: journal.id,
    businessDay: businessDayOf(journal.createdAt),
    postedAt,
    lines: [...totals.values()],
  };
}

export interface TrialBalanceRow {
  readonly currency: CurrencyCode;
  readonly debitMinor: bigint;
  readonly creditMinor: bigint;
  readonly balanced: boolean;
}

/** Per currency: total debits must equal total credits. */
export function trialBalanceOf(balances: readonly SubjectDayBalance[]): TrialBalanceRow[] {
  const rows = new Map<CurrencyCode, { debitMinor: bigint; creditMinor: bigint }>();
  for (const balance of balances) {
    const row = rows.get(balance.currency) ?? { debitMinor: 0n, creditMinor: 0n };
    row.debitMinor += balance.debitMinor;
    row.creditMinor += balance.creditMinor;
    rows.set(balance.currency, row);
  }
  return [...rows.entries()]
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([currency, row]) => ({ currency, ...row, balanced: row.debitMinor === row.creditMinor }));
}
