import 'reflect-metadata';

import {
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { INestMicroservice } from '@nestjs/common';
import { service as healthService } from 'grpc-health-check';

import { MemoryCellStore } from '@cellpay/cell-data-access';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { startCellGrpcServer } from '@cellpay/cell-server';
import {
  call,
  cellClients,
  type Client,
  clientOf,
  freePort,
  type GrpcError,
  loaderOptions,
} from '@cellpay/cell-testing';
import { createLogger } from '@cellpay/observability';
import { cellProtoPath, decodeErrorStatus } from '@cellpay/proto';

import { slotRouter, userOn } from '../__tests__/settlement-cell.harness';
import { MemorySettlementStore } from '../memory/memory-settlement-store';
import { settlementGrpcExtension, settlementServiceName } from './settlement-grpc.extension';

async function refusalOf(
  promise: Promise<unknown>,
): Promise<{ code: number | undefined; reason: string }> {
  const error = await promise.then(
    () => undefined,
    (failure: GrpcError) => failure,
  );
  const [details] = error?.metadata.get('grpc-status-details-bin') ?? [];
  return {
    code: error?.code,
    reason: details === undefined ? '' : decodeErrorStatus(details as Buffer).reason,
  };
}

/**
 * The SettlementService on the very server the cell process starts (cell-1 of three, in memory):
 * what each method answers and how settlement's refusals reach the wire.
 */
describe('the settlement service of a cell', () => {
  const router = slotRouter(['cell-1', 'cell-2', 'cell-3']);
  const remoteMerchant = userOn(router, 'cell-2', 'remote-shop');
  const localMerchant = userOn(router, 'cell-1', 'local-shop');
  let app: INestMicroservice;
  let address = '';
  let accounts: Client;
  let payments: Client;
  let settlement: Client;
  let payer = '';

  beforeAll(async () => {
    const port = await freePort();
    address = `127.0.0.1:${port}`;
    app = await startCellGrpcServer(
      {
        unitOfWork: new MemoryCellStore(),
        clock: new ManualClock(),
        idGenerator: new SequenceIdGenerator('S'),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: 'cell-1', slotCount: 100 },
      },
      {
        port,
        logger: createLogger('settlement-grpc-test', { level: 'silent' }),
        host: '127.0.0.1',
        extensions: [settlementGrpcExtension({ store: new MemorySettlementStore(), router })],
      },
    );
    const cell = cellClients(address);
    accounts = cell.accounts;
    payments = cell.payments;
    cell.accounting.close();
    settlement = clientOf(
      loadPackageDefinition(loadSync(cellProtoPath, loaderOptions)),
      settlementServiceName,
      address,
    );
    const funding = await call(accounts, 'openAccount', {
      kind: 'external_funding',
      ownerId: 'bank',
      currency: 'CNY',
    });
    const wallet = await call(accounts, 'openAccount', {
      kind: 'user_wallet',
      ownerId: userOn(router, 'cell-1', 'payer'),
      currency: 'CNY',
    });
    payer = String(wallet['accountId']);
    await call(accounts, 'openAccount', {
      kind: 'merchant',
      ownerId: localMerchant,
      currency: 'CNY',
    });
    await call(accounts, 'topUp', {
      clientId: 'bank',
      requestId: 'fund',
      fromAccountId: funding['accountId'],
      toAccountId: payer,
      amountMinor: '10000',
      currency: 'CNY',
    });
  });

  afterAll(async () => {
    accounts.close();
    payments.close();
    settlement.close();
    await app.close();
  });

  const payRequest = (merchantId: string, outTradeNo: string, amountMinor: string) => ({
    merchantId,
    outTradeNo,
    payerAccountId: payer,
    amountMinor,
    currency: 'CNY',
  });

  it('pays a merchant of another cell: the payment settles later, the payer pays now', async () => {
    const paid = await call(settlement, 'payCrossCell', payRequest(remoteMerchant, 'x-1', '1500'));
    expect(paid).toMatchObject({
      settlementState: 'settling',
      payment: { merchantId: remoteMerchant, status: 'captured', amountMinor: '1500' },
    });
    expect(await call(accounts, 'getBalance', { accountId: payer })).toMatchObject({
      balanceMinor: '8500',
    });
    const paymentId = (paid['payment'] as { paymentId: string }).paymentId;
    await expect(
      call(settlement, 'getPayment', { merchantId: remoteMerchant, paymentId }),
    ).resolves.toEqual(paid);
    await expect(
      call(settlement, 'getPaymentByOutTradeNo', { merchantId: remoteMerchant, outTradeNo: 'x-1' }),
    ).resolves.toEqual(paid);
  });

  it('refuses a cross-cell payment to a merchant of this cell as retryable, with no effect', async () => {
    const refused = await refusalOf(
      call(settlement, 'payCrossCell', payRequest(localMerchant, 'x-2', '100')),
    );
    expect(refused).toEqual({ code: status.UNAVAILABLE, reason: 'payee_in_this_cell' });
    expect(await call(accounts, 'getBalance', { accountId: payer })).toMatchObject({
      balanceMinor: '8500',
    });
  });

  it('refunds a cross-cell payment as a pending saga and a local one at once', async () => {
    const remote = await call(settlement, 'getPaymentByOutTradeNo', {
      merchantId: remoteMerchant,
      outTradeNo: 'x-1',
    });
    const remotePaymentId = (remote['payment'] as { paymentId: string }).paymentId;
    const pending = await call(settlement, 'refundPayment', {
      merchantId: remoteMerchant,
      paymentId: remotePaymentId,
      outRefundNo: 'xr-1',
      amountMinor: '500',
    });
    expect(pending).toMatchObject({
      status: 'pending',
      failureReason: '',
      paymentSettlementState: 'settling',
      refund: { outRefundNo: 'xr-1', amountMinor: '500', journalId: '' },
    });
    const refundId = (pending['refund'] as { refundId: string }).refundId;
    await expect(
      call(settlement, 'getRefund', { merchantId: remoteMerchant, refundId }),
    ).resolves.toEqual(pending);
    // Nothing moved back yet: the merchant's cell has not debited the merchant.
    expect(await call(accounts, 'getBalance', { accountId: payer })).toMatchObject({
      balanceMinor: '8500',
    });

    const localPayment = await call(payments, 'pay', payRequest(localMerchant, 'l-1', '300'));
    const refunded = await call(settlement, 'refundPayment', {
      merchantId: localMerchant,
      paymentId: localPayment['paymentId'],
      outRefundNo: 'lr-1',
      amountMinor: '100',
    });
    expect(refunded).toMatchObject({
      status: 'succeeded',
      paymentSettlementState: 'local',
      refund: { outRefundNo: 'lr-1', payment: { refundedMinor: '100' } },
    });
    const localRefundId = (refunded['refund'] as { refundId: string }).refundId;
    await expect(
      call(settlement, 'getRefund', { merchantId: localMerchant, refundId: localRefundId }),
    ).resolves.toEqual(refunded);
  });

  it('replays an order first paid locally (the merchant moved cells since) without charging twice', async () => {
    await call(accounts, 'openAccount', {
      kind: 'merchant',
      ownerId: remoteMerchant,
      currency: 'CNY',
    });
    const before = await call(accounts, 'getBalance', { accountId: payer });
    const local = await call(payments, 'pay', payRequest(remoteMerchant, 'moved-1', '40'));
    const replayed = await call(
      settlement,
      'payCrossCell',
      payRequest(remoteMerchant, 'moved-1', '40'),
    );
    expect(replayed).toMatchObject({
      settlementState: 'local',
      payment: { paymentId: local['paymentId'], amountMinor: '40' },
    });
    expect(await call(accounts, 'getBalance', { accountId: payer })).toMatchObject({
      balanceMinor: String(BigInt(String(before['balanceMinor'])) - 40n),
    });
  });

  it.each([
    [
      'getRefund of an unknown refund',
      'getRefund',
      () => ({ merchantId: 'someone-else', refundId: 'rfd_0001SSSSSSSSSSSS' }),
      status.NOT_FOUND,
      'refund_not_found',
    ],
    [
      'getRefund with a payment ID',
      'getRefund',
      () => ({ merchantId: localMerchant, refundId: 'pay_0001SSSSSSSSSSSS' }),
      status.INVALID_ARGUMENT,
      'malformed_id',
    ],
    [
      'getPayment of an unknown payment',
      'getPayment',
      () => ({ merchantId: 'someone-else', paymentId: 'pay_0001SSSSSSSSSSSS' }),
      status.NOT_FOUND,
      'payment_not_found',
    ],
    [
      'payCrossCell of a zero amount',
      'payCrossCell',
      () => payRequest(remoteMerchant, 'x-0', '0'),
      status.INVALID_ARGUMENT,
      'amount_must_be_positive',
    ],
  ] as const)('refuses %s', async (_name, method, request, code, reason) => {
    expect(await refusalOf(call(settlement, method, request()))).toEqual({ code, reason });
  });

  it('answers grpc.health.v1 for the settlement service', async () => {
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(address, credentials.createInsecure()) as unknown as Client;
    await expect(call(health, 'check', { service: settlementServiceName })).resolves.toEqual({
      status: 'SERVING',
    });
    health.close();
  });
});
