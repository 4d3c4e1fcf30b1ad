import 'reflect-metadata';

import { status } from '@grpc/grpc-js';

import { publishRoutingTable, routingRedisKeys } from '@cellpay/global-data-access';
import { CellpayClient, CellpayError } from '@cellpay/sdk';
import { pollUntil } from '@cellpay/testing';

import {
  idHomedIn,
  openMerchantAccount,
  type RealStack,
  startRealStack,
} from './__tests__/real-stack.fixture';
import { refusalOf } from './refusal.test-helper';

const cellIds = ['cell-1', 'cell-2', 'cell-3'] as const;
const cny = (amountMinor: bigint) => ({ amountMinor, currency: 'CNY' as const });

/**
 * The gateway and three cells on the real infrastructure (see `startRealStack`): payments inside
 * one cell, a slot move under traffic, and a dead cell.
 */
describe('the gateway on the real stack', () => {
  let stack: RealStack;
  /** Per cell: a merchant that lives in it, so its payers there pay it inside the cell. */
  const merchants = new Map<string, { merchantId: string; client: CellpayClient }>();
  let rival: CellpayClient;
  const accounts = new Map<string, string>();

  beforeAll(async () => {
    stack = await startRealStack(cellIds);
    for (const cellId of cellIds) {
      const merchantId = idHomedIn(stack.initial, cellId, `${stack.prefix}-merchant`);
      await openMerchantAccount(stack, cellId, merchantId);
      merchants.set(cellId, { merchantId, client: await stack.merchant(merchantId) });
    }
    rival = await stack.merchant(`${stack.prefix}-rival`);
    for (const cellId of cellIds) {
      const userId = idHomedIn(stack.initial, cellId, `${stack.prefix}-user`);
      const account = await stack.wallets.openAccount({ userId, currency: 'CNY' });
      await stack.wallets.topUp({
        requestId: `seed-${userId}`,
        accountId: account.accountId,
        amount: cny(100_000n),
      });
      accounts.set(cellId, account.accountId);
    }
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  const accountIn = (cellId: string): string => {
    const accountId = accounts.get(cellId);
    if (accountId === undefined) throw new Error(`no wallet in ${cellId}`);
    return accountId;
  };
  const merchantIn = (cellId: string): { merchantId: string; client: CellpayClient } => {
    const found = merchants.get(cellId);
    if (found === undefined) throw new Error(`no merchant in ${cellId}`);
    return found;
  };

  it.each(cellIds)('pays, captures, refunds and queries by both IDs in %s', async (cellId) => {
    const payer = accountIn(cellId);
    const merchant = merchantIn(cellId).client;
    const paid = await merchant.pay({
      outTradeNo: `${cellId}-pay`,
      payerAccountId: payer,
      amount: cny(1_000n),
    });
    expect(paid).toMatchObject({ status: 'captured', settlementState: 'local' });
    const authorized = await merchant.authorize({
      outTradeNo: `${cellId}-auth`,
      payerAccountId: payer,
      amount: cny(2_000n),
      ttlSeconds: 600,
    });
    await expect(
      merchant.capture({ paymentId: authorized.paymentId, amountMinor: 1_500n }),
    ).resolves.toMatchObject({ capturedMinor: '1500', status: 'partly_captured' });
    const refund = await merchant.refund({
      paymentId: paid.paymentId,
      outRefundNo: `${cellId}-r`,
      amountMinor: 400n,
    });
    expect(refund).toMatchObject({ status: 'succeeded', payment: { refundedMinor: '400' } });
    await expect(merchant.getRefund({ refundId: refund.refundId })).resolves.toMatchObject({
      status: 'succeeded',
      outRefundNo: `${cellId}-r`,
    });
    await expect(merchant.getPayment({ paymentId: paid.paymentId })).resolves.toMatchObject({
      outTradeNo: `${cellId}-pay`,
      refundedMinor: '400',
    });
    await expect(merchant.getPayment({ outTradeNo: `${cellId}-auth` })).resolves.toMatchObject({
      paymentId: authorized.paymentId,
    });
    await expect(stack.wallets.getBalance({ accountId: payer })).resolves.toMatchObject({
      balanceMinor: String(100_000n - 1_000n - 1_500n + 400n),
    });
    const stolen = await refusalOf(rival.getPayment({ paymentId: paid.paymentId }));
    expect(stolen).toMatchObject({ code: status.NOT_FOUND, reason: 'payment_not_found' });
    const stolenRefund = await refusalOf(rival.getRefund({ refundId: refund.refundId }));
    expect(stolenRefund).toMatchObject({ code: status.NOT_FOUND, reason: 'refund_not_found' });
  });

  it('moves a slot while traffic runs; the old cell applies nothing routed after the move', async () => {
    const payer = accountIn('cell-1');
    const { merchantId, client: merchant } = merchantIn('cell-1');
    const slot = Number(payer.slice(4, 8));
    const issued: { outTradeNo: string; afterMove: boolean }[] = [];
    let moved = false;
    const traffic = (async () => {
      for (let index = 0; index < 60; index++) {
        const outTradeNo = `move-${index}`;
        issued.push({ outTradeNo, afterMove: moved });
        await merchant
          .pay({ outTradeNo, payerAccountId: payer, amount: cny(1n) })
          .catch(() => undefined);
      }
    })();
    await pollUntil(() => Promise.resolve(issued.length >= 10 ? true : undefined), {
      timeoutMs: 10_000,
    });
    // The protocol of a slot move: freeze, wait until the routers refuse the slot, flip, unfreeze.
    const change = { actor: 'test', action: 'slot.move', subject: String(slot) };
    const keys = routingRedisKeys(stack.prefix);
    const publisher = stack.redis();
    await publishRoutingTable(
      publisher,
      keys,
      await stack.routingStore.setSlotState([slot], 'frozen', change),
    );
    await pollUntil(
      () =>
        merchant
          .getPayment({ outTradeNo: 'probe-frozen' })
          .then(() => undefined)
          .catch(() =>
            stack.wallets
              .getBalance({ accountId: payer })
              .then(() => undefined)
              .catch((error: unknown) =>
                error instanceof CellpayError && error.reason === 'slot_frozen' ? true : undefined,
              ),
          ),
      { timeoutMs: 5_000, description: 'the gateway refuses the frozen slot' },
    );
    await publishRoutingTable(
      publisher,
      keys,
      await stack.routingStore.assignSlots([slot], 'cell-2', change),
    );
    moved = true;
    await publishRoutingTable(
      publisher,
      keys,
      await stack.routingStore.setSlotState([slot], 'active', change),
    );
    await traffic;
    const afterMove = issued.filter((entry) => entry.afterMove);
    expect(afterMove.length).toBeGreaterThan(0);
    for (const { outTradeNo } of afterMove) {
      const code = await stack.transport
        .call('cell-1', {
          service: 'PaymentService',
          method: 'getPaymentByOutTradeNo',
          request: { merchantId, outTradeNo },
          metadata: {},
          deadlineMs: 2_000,
        })
        .then(() => status.OK)
        .catch((error: { code: number }) => error.code);
      expect({ outTradeNo, code }).toEqual({ outTradeNo, code: status.NOT_FOUND });
    }
  }, 30_000);

  it('fails fast for a dead cell and recovers when it returns', async () => {
    const victim = stack.cell('cell-3');
    await victim.app?.close();
    victim.app = undefined;
    try {
      for (let index = 0; index < 30 && stack.breakers.state('cell-3') !== 'open'; index++) {
        await refusalOf(stack.wallets.getBalance({ accountId: accountIn('cell-3') }));
      }
      expect(stack.breakers.state('cell-3')).toBe('open');
      const startedAt = performance.now();
      const refused = await refusalOf(stack.wallets.getBalance({ accountId: accountIn('cell-3') }));
      expect(performance.now() - startedAt).toBeLessThan(100);
      expect(refused).toMatchObject({ code: status.UNAVAILABLE, reason: 'cell_unavailable' });
      await expect(
        stack.wallets.getBalance({ accountId: accountIn('cell-2') }),
      ).resolves.toBeDefined();
    } finally {
      await victim.start();
    }
    await pollUntil(
      () =>
        stack.wallets
          .getBalance({ accountId: accountIn('cell-3') })
          .then(() => true)
          .catch(() => undefined),
      { timeoutMs: 10_000 },
    );
    expect(stack.breakers.state('cell-3')).toBe('closed');
  }, 30_000);
});
