import 'reflect-metadata';

import { createKafka } from '@cellpay/connections';
import { createLogger } from '@cellpay/observability';
import type { CellpayClient } from '@cellpay/sdk';
import { reconcileGlobal, type RelayRuntime, startRelayRuntime } from '@cellpay/settlement-cell';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import {
  idHomedIn,
  openMerchantAccount,
  type RealStack,
  realStackSlotCount,
  startRealStack,
} from './__tests__/real-stack.fixture';

const cellIds = ['cell-1', 'cell-2', 'cell-3'] as const;
const cny = (amountMinor: bigint) => ({ amountMinor, currency: 'CNY' as const });
const settleTimeoutMs = 60_000;

/**
 * Cross-cell pay, transfer and refund end to end on the real stack: the SDK calls the gateway,
 * the gateway routes to the payer's cell, whose SettlementService starts the saga; the real relay
 * runtime of each cell (the `apps/relay` process's code) carries the events through real Kafka.
 */
describe('cross-cell money through the gateway on the real stack', () => {
  const infra = readInfraEndpoints();
  const topicPrefix = uniqueName('xcell').replaceAll('_', '-');
  const relays: RelayRuntime[] = [];
  let stack: RealStack;
  let merchant: CellpayClient;
  let merchantAccountId = '';
  let payerAccountId = '';

  const startRelays = async (): Promise<void> => {
    for (const cell of stack.cells) {
      relays.push(
        await startRelayRuntime(
          {
            cellId: cell.cellId,
            slotCount: realStackSlotCount,
            shard: { ...infra.mysql, port: cell.port, database: cell.database },
            shardConnectionsMax: 4,
            kafkaBrokers: infra.kafka.brokers,
            topicPrefix,
            batchSizeMax: 100,
            opsPort: 0,
          },
          createLogger('relay-test', { level: 'error' }),
        ),
      );
    }
  };
  const cellBalance = async (cellId: string, accountId: string): Promise<bigint> => {
    const account = await stack.transport.call(cellId, {
      service: 'AccountService',
      method: 'getBalance',
      request: { accountId },
      metadata: {},
      deadlineMs: 3_000,
    });
    return BigInt(String(account['balanceMinor']));
  };
  const walletBalance = async (accountId: string): Promise<bigint> =>
    BigInt((await stack.wallets.getBalance({ accountId })).balanceMinor);
  const fundedWallet = async (cellId: string, tag: string, minor: bigint): Promise<string> => {
    const userId = idHomedIn(stack.initial, cellId, `${stack.prefix}-${tag}`);
    const account = await stack.wallets.openAccount({ userId, currency: 'CNY' });
    if (minor > 0n) {
      await stack.wallets.topUp({
        requestId: `seed-${userId}`,
        accountId: account.accountId,
        amount: cny(minor),
      });
    }
    return account.accountId;
  };
  const settled = (query: { paymentId: string } | { outTradeNo: string }) =>
    pollUntil(
      async () => {
        const payment = await merchant.getPayment(query);
        return payment.settlementState === 'settled' ? payment : undefined;
      },
      { timeoutMs: settleTimeoutMs, description: `payment ${JSON.stringify(query)} settles` },
    );
  const refundEnded = (refundId: string) =>
    pollUntil(
      async () => {
        const refund = await merchant.getRefund({ refundId });
        return refund.status === 'pending' ? undefined : refund;
      },
      { timeoutMs: settleTimeoutMs, description: `refund ${refundId} ends` },
    );

  beforeAll(async () => {
    stack = await startRealStack(cellIds);
    const merchantId = idHomedIn(stack.initial, 'cell-1', `${stack.prefix}-shop`);
    merchantAccountId = await openMerchantAccount(stack, 'cell-1', merchantId);
    merchant = await stack.merchant(merchantId);
    payerAccountId = await fundedWallet('cell-2', 'payer', 100_000n);
  }, 120_000);

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    await stack?.close();
    // The relays created their cells' topics under the suite's prefix: drop them too.
    const admin = createKafka({ brokers: infra.kafka.brokers, clientId: 'xcell-cleanup' }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((topic) =>
      topic.startsWith(`${topicPrefix}.`),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.disconnect();
  }, 120_000);

  it('pays a merchant of another cell: settling while no relay runs, then settled once', async () => {
    const paid = await merchant.pay({
      outTradeNo: 'x-pay-1',
      payerAccountId,
      amount: cny(10_000n),
    });
    expect(paid).toMatchObject({ status: 'captured', settlementState: 'settling' });
    // The payer was charged at once; the merchant's cell has seen nothing yet.
    expect(await walletBalance(payerAccountId)).toBe(90_000n);
    expect(await cellBalance('cell-1', merchantAccountId)).toBe(0n);
    await expect(merchant.getPayment({ paymentId: paid.paymentId })).resolves.toMatchObject({
      settlementState: 'settling',
    });
    await expect(merchant.getPayment({ outTradeNo: 'x-pay-1' })).resolves.toMatchObject({
      paymentId: paid.paymentId,
      settlementState: 'settling',
    });

    await startRelays();
    await settled({ paymentId: paid.paymentId });
    await expect(merchant.getPayment({ outTradeNo: 'x-pay-1' })).resolves.toMatchObject({
      settlementState: 'settled',
      status: 'captured',
    });
    // Retrying the same order replays the payment: nothing is charged or credited again.
    await expect(
      merchant.pay({ outTradeNo: 'x-pay-1', payerAccountId, amount: cny(10_000n) }),
    ).resolves.toMatchObject({ paymentId: paid.paymentId, settlementState: 'settled' });
    expect(await cellBalance('cell-1', merchantAccountId)).toBe(10_000n);
    expect(await walletBalance(payerAccountId)).toBe(90_000n);
  }, 120_000);

  it('transfers between wallets of two cells', async () => {
    const receiver = await fundedWallet('cell-3', 'receiver', 0n);
    const sent = await stack.wallets.transfer({
      requestId: 'x-transfer-1',
      fromAccountId: payerAccountId,
      toAccountId: receiver,
      amount: cny(700n),
    });
    expect(sent).toMatchObject({ kind: 'transfer', toAccountId: receiver });
    expect(['settling', 'settled']).toContain(sent.settlementState);
    await pollUntil(async () => ((await walletBalance(receiver)) === 700n ? true : undefined), {
      timeoutMs: settleTimeoutMs,
      description: 'the receiver in cell-3 is credited',
    });
    expect(await walletBalance(payerAccountId)).toBe(90_000n - 700n);
  }, 120_000);

  it('refunds a cross-cell payment: pending, then succeeded, money back once', async () => {
    const paid = await merchant.getPayment({ outTradeNo: 'x-pay-1' });
    const payerBefore = await walletBalance(payerAccountId);
    const refund = await merchant.refund({
      paymentId: paid.paymentId,
      outRefundNo: 'x-refund-1',
      amountMinor: 3_000n,
    });
    expect(refund).toMatchObject({ status: 'pending', outRefundNo: 'x-refund-1' });
    expect(refund.refundId).toMatch(/^rfd_\d{4}/);
    const done = await refundEnded(refund.refundId);
    expect(done).toMatchObject({
      status: 'succeeded',
      failureReason: '',
      amountMinor: '3000',
      outRefundNo: 'x-refund-1',
      payment: { refundedMinor: '3000', status: 'partly_refunded', settlementState: 'settled' },
    });
    expect(await walletBalance(payerAccountId)).toBe(payerBefore + 3_000n);
    expect(await cellBalance('cell-1', merchantAccountId)).toBe(7_000n);
    // The same refund number again replays the refund, with its outcome.
    await expect(
      merchant.refund({
        paymentId: paid.paymentId,
        outRefundNo: 'x-refund-1',
        amountMinor: 3_000n,
      }),
    ).resolves.toMatchObject({ refundId: refund.refundId, status: 'succeeded' });
    expect(await walletBalance(payerAccountId)).toBe(payerBefore + 3_000n);
  }, 120_000);

  it('fails a refund the merchant cannot fund, with the reason, and moves no money', async () => {
    const paid = await merchant.getPayment({ outTradeNo: 'x-pay-1' });
    // The merchant spends what it holds in its cell, so it cannot cover a refund any more.
    const sink = await fundedWallet('cell-1', 'sink', 0n);
    await stack.transport.call('cell-1', {
      service: 'AccountService',
      method: 'transferMoney',
      request: {
        clientId: 'test',
        requestId: 'x-drain-1',
        fromAccountId: merchantAccountId,
        toAccountId: sink,
        amountMinor: '7000',
        currency: 'CNY',
      },
      metadata: {},
      deadlineMs: 3_000,
    });
    const payerBefore = await walletBalance(payerAccountId);
    const refund = await merchant.refund({
      paymentId: paid.paymentId,
      outRefundNo: 'x-refund-2',
      amountMinor: 2_000n,
    });
    expect(refund.status).toBe('pending');
    const done = await refundEnded(refund.refundId);
    expect(done).toMatchObject({
      status: 'failed',
      failureReason: 'insufficient_funds',
      payment: { refundedMinor: '3000' },
    });
    expect(await walletBalance(payerAccountId)).toBe(payerBefore);
    expect(await cellBalance('cell-1', merchantAccountId)).toBe(0n);
    await expect(merchant.getPayment({ paymentId: paid.paymentId })).resolves.toMatchObject({
      refundedMinor: '3000',
    });
  }, 120_000);

  it('leaves the clearing accounts of every pair of cells netting to zero', async () => {
    const report = await pollUntil(
      async () => {
        const reconciled = await reconcileGlobal(stack.cells.map((cell) => cell.reconciled));
        return reconciled.clean && reconciled.quiet ? reconciled : undefined;
      },
      { timeoutMs: settleTimeoutMs, description: 'global reconciliation clean and quiet' },
    );
    expect(report.pairs.length).toBeGreaterThan(0);
    for (const pair of report.pairs) {
      expect(pair).toMatchObject({ clearingNetMinor: '0', differenceMinor: '0', inFlightCount: 0 });
    }
  }, 120_000);
});
