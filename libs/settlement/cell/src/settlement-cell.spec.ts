import { MemoryCellStore } from '@cellpay/cell-data-access';

import {
  deliverAll,
  type SettlementCellUnderTest,
  slotRouter,
  startSettlementCell,
  userOn,
} from './__tests__/settlement-cell.harness';
import { CellOutboxSource } from './cell-outbox-source';
import { reconcileGlobal } from './global-reconciliation';
import { MemorySettlementStore } from './memory/memory-settlement-store';
import { SettlementErrorCode } from './settlement.exception';

describe('cross-cell settlement in two in-memory cells', () => {
  const router = slotRouter(['cell-1', 'cell-2']);
  let a: SettlementCellUnderTest;
  let b: SettlementCellUnderTest;
  let payerAccount: string;
  let merchantAccount: string;
  const merchantId = userOn(router, 'cell-2', 'merchant');
  const payerId = userOn(router, 'cell-1', 'payer');

  beforeEach(async () => {
    a = await startSettlementCell(
      'cell-1',
      new MemoryCellStore(),
      new MemorySettlementStore(),
      router,
    );
    b = await startSettlementCell(
      'cell-2',
      new MemoryCellStore(),
      new MemorySettlementStore(),
      router,
    );
    payerAccount = (
      await a.accounts.openAccount({ kind: 'user_wallet', ownerId: payerId, currency: 'CNY' })
    ).accountId;
    merchantAccount = (
      await b.accounts.openAccount({ kind: 'merchant', ownerId: merchantId, currency: 'CNY' })
    ).accountId;
    const funding = await a.accounts.openAccount({
      kind: 'external_funding',
      ownerId: 'bank',
      currency: 'CNY',
    });
    await a.accounts.topUp({
      clientId: 'test',
      requestId: 'fund',
      fromAccountId: funding.accountId,
      toAccountId: payerAccount,
      amountMinor: '10000',
      currency: 'CNY',
    });
  });

  afterEach(async () => {
    await a.close();
    await b.close();
  });

  const balance = async (cell: SettlementCellUnderTest, id: string) =>
    (await cell.accounts.balance(id)).balanceMinor;
  const pay = (outTradeNo: string, amountMinor: string) =>
    a.crossCell.pay({
      merchantId,
      outTradeNo,
      payerAccountId: payerAccount,
      amountMinor,
      currency: 'CNY',
    });

  it('pays across cells: settling at once, settled after the payee cell confirms, clearing at zero', async () => {
    const saga = await pay('order-1', '2500');
    expect(saga.state).toBe('settling');
    expect(await balance(a, payerAccount)).toBe('7500');
    expect(await balance(b, merchantAccount)).toBe('0');
    const inFlight = await reconcileGlobal([a, b]);
    expect(inFlight).toMatchObject({ clean: true, quiet: false });
    expect(inFlight.pairs[0]).toMatchObject({
      inFlightMinor: '2500',
      clearingNetMinor: '2500',
      inFlightCount: 1,
    });

    expect(await deliverAll([a, b])).toBe(2);
    expect(await balance(b, merchantAccount)).toBe('2500');
    expect((await a.crossCell.saga(saga.sagaId)).state).toBe('settled');
    expect(await reconcileGlobal([a, b])).toMatchObject({ clean: true, quiet: true });
    // The same request again is the same payment; no second debit.
    expect((await pay('order-1', '2500')).sagaId).toBe(saga.sagaId);
    expect(await balance(a, payerAccount)).toBe('7500');
  });

  it('applies a redelivered event once', async () => {
    await pay('order-2', '100');
    const [row] = await new CellOutboxSource(a.unitOfWork, a.store).fetchUnpublished(10);
    if (row === undefined) throw new Error('no outbox row');
    expect(await b.applier.apply(row.event)).toBe('applied');
    expect(await b.applier.apply(row.event)).toBe('duplicate');
    expect(await balance(b, merchantAccount)).toBe('100');
  });

  it('refunds across cells, and refuses cleanly when the merchant lacks the funds', async () => {
    const payment = await pay('order-3', '1000');
    await deliverAll([a, b]);
    const refund = await a.crossCell.refund({
      merchantId,
      paymentId: payment.sagaId,
      outRefundNo: 'r-1',
      amountMinor: '400',
    });
    expect(refund.state).toBe('pending');
    // Pending refunds are reserved: 400 pending + 700 would exceed the 1000 captured.
    await expect(
      a.crossCell.refund({
        merchantId,
        paymentId: payment.sagaId,
        outRefundNo: 'r-2',
        amountMinor: '700',
      }),
    ).rejects.toMatchObject({ code: 'refund_exceeds_captured' });
    await deliverAll([a, b]);
    expect((await a.crossCell.saga(refund.sagaId)).state).toBe('succeeded');
    expect(await balance(a, payerAccount)).toBe('9400');
    expect(await balance(b, merchantAccount)).toBe('600');
    expect((await a.payments.byId(merchantId, payment.sagaId)).refundedMinor).toBe('400');

    // The merchant pays 600 away; the next refund is refused in its cell and fails in the payer's.
    const other = await b.accounts.openAccount({
      kind: 'user_wallet',
      ownerId: userOn(router, 'cell-2', 'other'),
      currency: 'CNY',
    });
    await b.accounts.transfer({
      clientId: 'test',
      requestId: 'drain',
      fromAccountId: merchantAccount,
      toAccountId: other.accountId,
      amountMinor: '600',
      currency: 'CNY',
    });
    const refused = await a.crossCell.refund({
      merchantId,
      paymentId: payment.sagaId,
      outRefundNo: 'r-3',
      amountMinor: '500',
    });
    await deliverAll([a, b]);
    expect(await a.crossCell.saga(refused.sagaId)).toMatchObject({
      state: 'failed',
      reason: 'insufficient_funds',
    });
    expect(await balance(a, payerAccount)).toBe('9400');
    expect((await a.payments.byId(merchantId, payment.sagaId)).refundedMinor).toBe('400');
    expect(await reconcileGlobal([a, b])).toMatchObject({ clean: true, quiet: true });
    const reconciled = await a.payments.byId(merchantId, payment.sagaId);
    expect(reconciled.status).toBe('partly_refunded');
  });

  it('transfers to an account of another cell', async () => {
    const payee = await b.accounts.openAccount({
      kind: 'user_wallet',
      ownerId: userOn(router, 'cell-2', 'friend'),
      currency: 'CNY',
    });
    const saga = await a.crossCell.transfer({
      clientId: 'app',
      requestId: 't-1',
      fromAccountId: payerAccount,
      toAccountId: payee.accountId,
      amountMinor: '300',
      currency: 'CNY',
    });
    expect(saga).toMatchObject({ kind: 'transfer', state: 'settling' });
    await deliverAll([a, b]);
    expect(await balance(b, payee.accountId)).toBe('300');
    expect((await a.crossCell.saga(saga.sagaId)).state).toBe('settled');
  });

  it('refuses a payee of its own cell, and a refund of a local payment', async () => {
    const local = userOn(router, 'cell-1', 'local-merchant');
    await expect(
      a.crossCell.pay({
        merchantId: local,
        outTradeNo: 'x',
        payerAccountId: payerAccount,
        amountMinor: '1',
        currency: 'CNY',
      }),
    ).rejects.toMatchObject({ code: SettlementErrorCode.PayeeInThisCell });
    await a.accounts.openAccount({ kind: 'merchant', ownerId: local, currency: 'CNY' });
    const payment = await a.payments.pay({
      merchantId: local,
      outTradeNo: 'y',
      payerAccountId: payerAccount,
      amountMinor: '5',
      currency: 'CNY',
    });
    await expect(
      a.crossCell.refund({
        merchantId: local,
        paymentId: payment.paymentId,
        outRefundNo: 'z',
        amountMinor: '5',
      }),
    ).rejects.toMatchObject({ code: SettlementErrorCode.PaymentNotCrossCell });
  });

  it('leaves an event for an unknown account unapplied (poison) and applies it after the fix', async () => {
    const ghost = userOn(router, 'cell-2', 'ghost');
    await a.crossCell.pay({
      merchantId: ghost,
      outTradeNo: 'g',
      payerAccountId: payerAccount,
      amountMinor: '50',
      currency: 'CNY',
    });
    const [row] = await new CellOutboxSource(a.unitOfWork, a.store).fetchUnpublished(10);
    if (row === undefined) throw new Error('no outbox row');
    await expect(b.applier.apply(row.event)).rejects.toMatchObject({
      name: 'PermanentEventError',
      reason: 'account_not_found',
    });
    const report = await reconcileGlobal([a, b]);
    expect(report).toMatchObject({ clean: true, quiet: false });
    const ghostAccount = await b.accounts.openAccount({
      kind: 'merchant',
      ownerId: ghost,
      currency: 'CNY',
    });
    expect(await b.applier.apply(row.event)).toBe('applied');
    expect(await balance(b, ghostAccount.accountId)).toBe('50');
  });
  it('gives the relay nothing while paused by the switch or while another replica leads', async () => {
    await pay('order-relay', '10');
    let paused = true;
    let leader = false;
    const source = new CellOutboxSource(
      a.unitOfWork,
      a.store,
      { holds: async () => leader },
      { isPaused: () => paused },
    );
    expect(await source.fetchUnpublished(10)).toEqual([]);
    paused = false;
    expect(await source.fetchUnpublished(10)).toEqual([]);
    leader = true;
    expect(await source.fetchUnpublished(10)).toHaveLength(1);
    expect(await source.depth()).toBe(1);
  });
});
