import { Inject, Injectable } from '@nestjs/common';

import {
  type Account,
  type AccountKind,
  type CellTransaction,
  type Journal,
  JournalKind,
  signedAmount,
  type UnitOfWork,
  type Voucher,
  type VoucherLine,
  voucherOf,
} from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';
import type { CurrencyCode } from '@cellpay/money';

/** Rows read per page while scanning the shard. */
export const reconciliationPageSizeMax = 500;
/** Differences listed in one report; beyond this only the count grows. */
export const reconciliationDifferencesMax = 1_000;

export enum ReconciliationRule {
  AccountBalanceEqualsJournals = 'account_balance_equals_journals',
  AccountNotBelowZero = 'account_not_below_zero',
  AccountHeldEqualsOpenHolds = 'account_held_equals_open_holds',
  JournalBalanced = 'journal_balanced',
  JournalAccountExists = 'journal_account_exists',
  PaymentCapturedEqualsJournals = 'payment_captured_equals_journals',
  PaymentRefundedEqualsRefunds = 'payment_refunded_equals_refunds',
  RefundHasJournal = 'refund_has_journal',
  TrialBalanceBalanced = 'trial_balance_balanced',
  VoucherMatchesJournal = 'voucher_matches_journal',
}

/** One difference: which rule, on which account, journal, payment, refund or subject, and by how much. */
export interface ReconciliationDifference {
  readonly rule: ReconciliationRule;
  readonly subjectId: string;
  readonly currency: CurrencyCode;
  readonly expectedMinor: bigint;
  readonly actualMinor: bigint;
  /** actual minus expected. */
  readonly differenceMinor: bigint;
}

export interface ReconciliationReport {
  readonly clean: boolean;
  readonly accountsChecked: number;
  readonly journalsChecked: number;
  readonly paymentsChecked: number;
  readonly refundsChecked: number;
  readonly differenceCount: number;
  readonly differences: readonly ReconciliationDifference[];
}

/** Walks a table in ID order, one bounded page at a time; returns how many rows it visited. */
async function forEachPage<T extends { readonly id: string }>(
  listAfter: (afterId: string, limit: number) => Promise<readonly T[]>,
  visit: (page: readonly T[]) => Promise<void> | void,
): Promise<number> {
  let visited = 0;
  for (let afterId = ''; ;) {
    const page = await listAfter(afterId, reconciliationPageSizeMax);
    await visit(page);
    visited += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < reconciliationPageSizeMax) return visited;
    afterId = last.id;
  }
}

class DifferenceCollector {
  readonly differences: ReconciliationDifference[] = [];
  count = 0;

  expectEqual(
    rule: ReconciliationRule,
    subjectId: string,
    currency: CurrencyCode,
    expectedMinor: bigint,
    actualMinor: bigint,
  ): void {
    if (expectedMinor === actualMinor) return;
    this.count += 1;
    if (this.differences.length < reconciliationDifferencesMax) {
      this.differences.push({
        rule,
        subjectId,
        currency,
        expectedMinor,
        actualMinor,
        differenceMinor: actualMinor - expectedMinor,
      });
    }
  }
}

/**
 * Reconciliation of one cell (the seed's "核对"), exact and explained: every account balance
 * equals the sum of its journal lines, its held amount equals its open holds, no account is below zero without permission, every journal
 * balances per currency and names existing accounts, every payment's captured amount and every
 * refund are backed by journals, and the trial balance (journal totals by subject) balances.
 * Everything is read from one consistent snapshot, so it can run while the cell takes traffic.
 */
@Injectable()
export class ReconcileCellUseCase {
  constructor(@Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork) {}

  execute(): Promise<ReconciliationReport> {
    return this.unitOfWork.run('accounting.reconcile', (tx) => this.reconcile(tx), {
      consistentSnapshot: true,
    });
  }

  private async reconcile(tx: CellTransaction): Promise<ReconciliationReport> {
    const collector = new DifferenceCollector();
    const accounts = new Map<string, Account>();
    const trial = new Map<CurrencyCode, { debitMinor: bigint; creditMinor: bigint }>();
    await forEachPage(
      (afterId, limit) => tx.accounts.listAfter(afterId, limit),
      async (page) => {
        const totals = await tx.journals.totalsForAccounts(page.map((account) => account.id));
        const totalOf = new Map(totals.map((total) => [total.accountId, total]));
        const heldOf = await tx.holds.openTotalsForAccounts(page.map((account) => account.id));
        for (const account of page) {
          accounts.set(account.id, account);
          const total = totalOf.get(account.id) ?? { debitMinor: 0n, creditMinor: 0n };
          collector.expectEqual(
            ReconciliationRule.AccountBalanceEqualsJournals,
            account.id,
            account.currency,
            total.creditMinor - total.debitMinor,
            account.balanceMinor,
          );
          collector.expectEqual(
            ReconciliationRule.AccountHeldEqualsOpenHolds,
            account.id,
            account.currency,
            heldOf.get(account.id) ?? 0n,
            account.heldMinor,
          );
          if (!account.allowNegative && account.balanceMinor - account.heldMinor < 0n) {
            collector.expectEqual(
              ReconciliationRule.AccountNotBelowZero,
              account.id,
              account.currency,
              0n,
              account.balanceMinor - account.heldMinor,
            );
          }
          const row = trial.get(account.currency) ?? { debitMinor: 0n, creditMinor: 0n };
          row.debitMinor += total.debitMinor;
          row.creditMinor += total.creditMinor;
          trial.set(account.currency, row);
        }
      },
    );
    for (const [currency, row] of trial) {
      collector.expectEqual(
        ReconciliationRule.TrialBalanceBalanced,
        `trial_balance_${currency}`,
        currency,
        row.debitMinor,
        row.creditMinor,
      );
    }

    const journalsChecked = await forEachPage(
      (afterId, limit) => tx.journals.listAfter(afterId, limit),
      async (page) => {
        const vouchers = await tx.generalLedger.findVouchers(page.map((journal) => journal.id));
        for (const journal of page) {
          this.checkJournal(journal, accounts, collector);
          this.checkVoucher(journal, vouchers.get(journal.id), accounts, collector);
        }
      },
    );

    const counts = await this.checkPayments(tx, collector);
    return {
      clean: collector.count === 0,
      accountsChecked: accounts.size,
      journalsChecked,
      ...counts,
      differenceCount: collector.count,
      differences: collector.differences,
    };
  }

  private checkJournal(
    journal: Journal,
    accounts: ReadonlyMap<string, Account>,
    collector: DifferenceCollector,
  ): void {
    const net = new Map<CurrencyCode, bigint>();
    for (const line of journal.lines) {
      net.set(line.currency, (net.get(line.currency) ?? 0n) + signedAmount(line));
      const account = accounts.get(line.accountId);
      if (account === undefined || account.currency !== line.currency) {
        collector.expectEqual(
          ReconciliationRule.JournalAccountExists,
          `${journal.id}/${line.accountId}`,
          line.currency,
          0n,
          line.amountMinor,
        );
      }
    }
    for (const [currency, difference] of net) {
      collector.expectEqual(
        ReconciliationRule.JournalBalanced,
        journal.id,
        currency,
        0n,
        difference,
      );
    }
  }

  /**
   * A posted voucher must be the journal rolled up by subject: compared per subject, side and
   * currency. A journal without a voucher is backlog (deferred posting), not a difference.
   */
  private checkVoucher(
    journal: Journal,
    voucher: Voucher | undefined,
    accounts: ReadonlyMap<string, Account>,
    collector: DifferenceCollector,
  ): void {
    if (voucher === undefined) return;
    const kindOf = new Map<string, AccountKind>();
    for (const line of journal.lines) {
      const account = accounts.get(line.accountId);
      if (account === undefined) return; // Reported as journal_account_exists already.
      kindOf.set(account.id, account.kind);
    }
    const expected = voucherOf(journal, kindOf, voucher.postedAt).lines;
    const keyOf = (line: VoucherLine): string =>
      `${line.subjectCode}|${line.direction}|${line.currency}`;
    const actualOf = new Map(voucher.lines.map((line) => [keyOf(line), line]));
    const expectedKeys = new Set(expected.map(keyOf));
    for (const line of expected) {
      collector.expectEqual(
        ReconciliationRule.VoucherMatchesJournal,
        `${journal.id}/${line.subjectCode}/${line.direction}`,
        line.currency,
        line.amountMinor,
        actualOf.get(keyOf(line))?.amountMinor ?? 0n,
      );
    }
    for (const line of voucher.lines) {
      if (expectedKeys.has(keyOf(line))) continue;
      collector.expectEqual(
        ReconciliationRule.VoucherMatchesJournal,
        `${journal.id}/${line.subjectCode}/${line.direction}`,
        line.currency,
        0n,
        line.amountMinor,
      );
    }
  }

  private async checkPayments(
    tx: CellTransaction,
    collector: DifferenceCollector,
  ): Promise<{ paymentsChecked: number; refundsChecked: number }> {
    let refundsChecked = 0;
    const paymentsChecked = await forEachPage(
      (afterId, limit) => tx.payments.listAfter(afterId, limit),
      async (page) => {
        for (const payment of page) {
          // Settlement journals name the saga too (a cross-cell payment's ID), but they are the
          // other cell's side of it: one is written here when a payee's slot moved into the
          // payer's own cell and the credit was passed back (docs/decisions.md, "A settlement
          // event for an account whose slot moved is forwarded").
          const payeeNet = (journals: readonly Journal[]): bigint =>
            journals
              .filter((journal) => journal.kind !== JournalKind.Settlement)
              .flatMap((journal) => journal.lines)
              .filter((line) => line.accountId === payment.payeeAccountId)
              .reduce((sum, line) => sum + signedAmount(line), 0n);
          const journals = await tx.journals.findByReference(payment.id);
          collector.expectEqual(
            ReconciliationRule.PaymentCapturedEqualsJournals,
            payment.id,
            payment.currency,
            payment.capturedMinor,
            payeeNet(journals),
          );
          const refunds = await tx.refunds.listByPayment(payment.id);
          collector.expectEqual(
            ReconciliationRule.PaymentRefundedEqualsRefunds,
            payment.id,
            payment.currency,
            payment.refundedMinor,
            refunds.reduce((sum, refund) => sum + refund.amountMinor, 0n),
          );
          for (const refund of refunds) {
            const refundJournals = await tx.journals.findByReference(refund.id);
            collector.expectEqual(
              ReconciliationRule.RefundHasJournal,
              refund.id,
              refund.currency,
              -refund.amountMinor,
              payeeNet(refundJournals),
            );
          }
          refundsChecked += refunds.length;
        }
      },
    );
    return { paymentsChecked, refundsChecked };
  }
}
