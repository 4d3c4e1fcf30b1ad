import { refusalCodeOf as codeOf } from '@cellpay/testing';

import { type Account, AccountKind, applyChange, freeze, release } from './account';
import { CellErrorCode } from './cell-error';
import { formatId, parseId } from './ids';
import { buildJournal, JournalKind, movement, reversalOf } from './journal';
import {
  capturePayment,
  type Payment,
  PaymentStatus,
  paymentTransitions,
  refundPayment,
  transition,
} from './payment';
import { chartOfAccounts, trialBalanceOf, voucherOf } from './general-ledger';

const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

const wallet: Account = {
  id: 'acc_0007WALLET0001',
  kind: AccountKind.UserWallet,
  ownerId: 'u',
  currency: 'CNY',
  allowNegative: false,
  balanceMinor: 100n,
  heldMinor: 30n,
  createdAt: at,
};

describe('cell domain', () => {
  it('formats and parses slot-bearing IDs and refuses malformed ones', () => {
    const id = formatId('payment', 42, '01JD8XABCDEF');
    expect(id).toBe('pay_004201JD8XABCDEF');
    expect(parseId(id, 'payment')).toEqual({ kind: 'payment', slot: 42 });
    for (const bad of [
      '',
      'pay_42ABCDEFGH',
      'acc_004201JD8XABCDEF',
      'pay_0042short',
      `pay_0042${'A'.repeat(33)}`,
      'pay_0042ABCDEFG!',
    ]) {
      expect(codeOf(() => parseId(bad, 'payment'))).toBe(CellErrorCode.MalformedId);
    }
    expect(() => formatId('account', 10_000, 'ABCDEFGH')).toThrow(RangeError);
  });

  it('keeps wallets from going below their available balance', () => {
    expect(applyChange(wallet, -70n).balanceMinor).toBe(30n);
    expect(codeOf(() => applyChange(wallet, -71n))).toBe(CellErrorCode.InsufficientFunds);
    expect(codeOf(() => freeze(wallet, 71n))).toBe(CellErrorCode.InsufficientFunds);
    expect(release(freeze(wallet, 70n), 100n).heldMinor).toBe(0n);
    const suspense = { ...wallet, kind: AccountKind.Suspense, allowNegative: true };
    expect(applyChange(suspense, -1_000n).balanceMinor).toBe(-900n);
  });

  it('builds only balanced journals, per currency, and reverses them line by line', () => {
    const journal = movement(
      { id: 'jnl_0001AAAAAAAA', kind: JournalKind.Transfer, referenceId: 'trf_x', createdAt: at },
      'a',
      'b',
      5n,
      'CNY',
    );
    expect(Object.isFrozen(journal)).toBe(true);
    const reversal = reversalOf(journal, 'jnl_0001BBBBBBBB', at);
    expect(reversal.reversesJournalId).toBe(journal.id);
    expect(reversal.lines.map((line) => line.direction)).toEqual(['credit', 'debit']);
    const unbalanced = {
      id: 'jnl_0001CCCCCCCC',
      kind: JournalKind.Transfer,
      referenceId: 'r',
      createdAt: at,
      lines: [
        { accountId: 'a', direction: 'debit' as const, amountMinor: 5n, currency: 'CNY' as const },
        { accountId: 'b', direction: 'credit' as const, amountMinor: 5n, currency: 'USD' as const },
      ],
    };
    expect(codeOf(() => buildJournal(unbalanced))).toBe(CellErrorCode.JournalUnbalanced);
    expect(codeOf(() => buildJournal({ ...unbalanced, lines: unbalanced.lines.slice(0, 1) }))).toBe(
      CellErrorCode.JournalUnbalanced,
    );
    expect(() =>
      buildJournal({
        ...unbalanced,
        lines: unbalanced.lines.map((line) => ({
          ...line,
          amountMinor: 0n,
          currency: 'CNY' as const,
        })),
      }),
    ).toThrow(/invariant/);
  });

  it('walks the payment state machine and refuses every other move', () => {
    const payment: Payment = {
      id: 'pay_0001AAAAAAAA',
      merchantId: 'm',
      outTradeNo: 'o',
      payerAccountId: 'a',
      payeeAccountId: 'b',
      currency: 'CNY',
      amountMinor: 100n,
      capturedMinor: 0n,
      refundedMinor: 0n,
      status: PaymentStatus.Created,
      createdAt: at,
      updatedAt: at,
    };
    const authorized = transition(payment, PaymentStatus.Authorized, at);
    expect(codeOf(() => capturePayment(authorized, 101n, at))).toBe(
      CellErrorCode.CaptureExceedsAuthorized,
    );
    const captured = capturePayment(authorized, 60n, at);
    expect(captured.status).toBe(PaymentStatus.PartlyCaptured);
    expect(codeOf(() => refundPayment(captured, 61n, at))).toBe(
      CellErrorCode.RefundExceedsCaptured,
    );
    const partly = refundPayment(captured, 20n, at);
    expect(partly.status).toBe(PaymentStatus.PartlyRefunded);
    const refunded = refundPayment(partly, 40n, at);
    expect(refunded.status).toBe(PaymentStatus.Refunded);
    // The last cent raced for by two refunds: the loser breaks "never more than captured".
    expect(codeOf(() => refundPayment(refunded, 1n, at))).toBe(CellErrorCode.RefundExceedsCaptured);
    expect(codeOf(() => refundPayment(authorized, 1n, at))).toBe(
      CellErrorCode.InvalidStateTransition,
    );
    for (const terminal of [
      PaymentStatus.Refunded,
      PaymentStatus.Voided,
      PaymentStatus.Expired,
      PaymentStatus.Failed,
    ]) {
      expect(paymentTransitions[terminal]).toEqual([]);
      expect(
        codeOf(() => transition({ ...payment, status: terminal }, PaymentStatus.Captured, at)),
      ).toBe(CellErrorCode.InvalidStateTransition);
    }
  });

  it('rolls journals up into vouchers by subject and checks the trial balance', () => {
    const journal = movement(
      { id: 'jnl_0001DDDDDDDD', kind: JournalKind.TopUp, referenceId: 't', createdAt: at },
      'bank',
      'w',
      9n,
      'JPY',
    );
    const voucher = voucherOf(
      journal,
      new Map([
        ['bank', AccountKind.ExternalFunding],
        ['w', AccountKind.UserWallet],
      ]),
      at,
    );
    expect(voucher.businessDay).toBe('2026-01-02');
    expect(voucher.lines).toEqual([
      {
        subjectCode: chartOfAccounts.external_funding.code,
        direction: 'debit',
        amountMinor: 9n,
        currency: 'JPY',
      },
      {
        subjectCode: chartOfAccounts.user_wallet.code,
        direction: 'credit',
        amountMinor: 9n,
        currency: 'JPY',
      },
    ]);
    const row = {
      businessDay: '2026-01-02',
      subjectCode: '1001',
      currency: 'JPY' as const,
      debitMinor: 9n,
      creditMinor: 0n,
    };
    expect(
      trialBalanceOf([row, { ...row, subjectCode: '2001', debitMinor: 0n, creditMinor: 9n }]),
    ).toEqual([{ currency: 'JPY', debitMinor: 9n, creditMinor: 9n, balanced: true }]);
    expect(trialBalanceOf([row])[0]?.balanced).toBe(false);
  });
});
