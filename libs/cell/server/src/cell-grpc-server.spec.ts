import 'reflect-metadata';

import { join } from 'node:path';

import { credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { INestMicroservice } from '@nestjs/common';
import { service as healthService } from 'grpc-health-check';

import { MemoryCellStore } from '@cellpay/cell-data-access';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
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
import { decodeErrorStatus } from '@cellpay/proto';

import { startCellGrpcServer } from './cell-grpc-server';

let address = '';

describe('the cell gRPC server', () => {
  let app: INestMicroservice;
  let accounts: Client;
  let payments: Client;
  let accounting: Client;
  const logger = createLogger('cell-test', { level: 'silent' });

  beforeAll(async () => {
    const port = await freePort();
    address = `127.0.0.1:${port}`;
    app = await startCellGrpcServer(
      {
        unitOfWork: new MemoryCellStore(),
        clock: new ManualClock(),
        idGenerator: new SequenceIdGenerator('G'),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: 'cell-1', slotCount: 100 },
      },
      { port, logger },
    );
    ({ accounts, payments, accounting } = cellClients(address));
  });
  afterAll(async () => {
    for (const client of [accounts, payments, accounting]) client.close();
    await app.close();
  });

  it('pays, refunds and reconciles over gRPC with amounts as int64 strings', async () => {
    const funding = await call(accounts, 'openAccount', {
      kind: 'external_funding',
      ownerId: 'bank',
      currency: 'CNY',
    });
    const wallet = await call(accounts, 'openAccount', {
      kind: 'user_wallet',
      ownerId: 'grpc-user',
      currency: 'CNY',
    });
    await call(accounts, 'openAccount', {
      kind: 'merchant',
      ownerId: 'grpc-merchant',
      currency: 'CNY',
    });
    await expect(
      call(accounts, 'topUp', {
        clientId: 'app',
        requestId: 'top-up',
        fromAccountId: funding['accountId'],
        toAccountId: wallet['accountId'],
        amountMinor: '9223372036854775',
        currency: 'CNY',
      }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await call(accounts, 'topUp', {
      clientId: 'app',
      requestId: 'top-up-2',
      fromAccountId: funding['accountId'],
      toAccountId: wallet['accountId'],
      amountMinor: '5000',
      currency: 'CNY',
    });
    const payment = await call(payments, 'pay', {
      merchantId: 'grpc-merchant',
      outTradeNo: 'o-1',
      payerAccountId: wallet['accountId'],
      amountMinor: '1200',
      currency: 'CNY',
    });
    expect(payment).toMatchObject({ status: 'captured', amountMinor: '1200' });
    const again = await call(payments, 'pay', {
      merchantId: 'grpc-merchant',
      outTradeNo: 'o-1',
      payerAccountId: wallet['accountId'],
      amountMinor: '1200',
      currency: 'CNY',
    });
    expect(again).toEqual(payment);
    const refund = await call(payments, 'refundPayment', {
      merchantId: 'grpc-merchant',
      paymentId: payment['paymentId'],
      outRefundNo: 'r-1',
      amountMinor: '200',
    });
    expect(refund['payment']).toMatchObject({ status: 'partly_refunded', refundedMinor: '200' });
    expect(await call(accounts, 'getBalance', { accountId: wallet['accountId'] })).toMatchObject({
      balanceMinor: '4000',
    });
    const report = await call(accounting, 'reconcile', {});
    expect(report).toMatchObject({
      clean: true,
      differenceCount: 0,
      paymentsChecked: 1,
      refundsChecked: 1,
    });
    const chart = await call(accounting, 'getChartOfAccounts', {});
    expect((chart['subjects'] as unknown[]).length).toBe(6);
  });

  it.each([
    [
      'pay',
      {
        merchantId: 'grpc-merchant',
        outTradeNo: 'bad',
        payerAccountId: 'acc_0001XXXXXXXXXXXX',
        amountMinor: '0',
        currency: 'CNY',
      },
      status.INVALID_ARGUMENT,
      'amount_must_be_positive',
    ],
    [
      'pay',
      {
        merchantId: 'grpc-merchant',
        outTradeNo: 'bad',
        payerAccountId: 'nope',
        amountMinor: '1',
        currency: 'CNY',
      },
      status.INVALID_ARGUMENT,
      'malformed_id',
    ],
    [
      'getPayment',
      { merchantId: 'grpc-merchant', paymentId: 'pay_0001XXXXXXXXXXXX' },
      status.NOT_FOUND,
      'payment_not_found',
    ],
    [
      'authorize',
      {
        merchantId: 'm',
        outTradeNo: 'bad',
        payerAccountId: 'acc_0001XXXXXXXXXXXX',
        amountMinor: '1',
        currency: 'CNY',
        ttlSeconds: 0,
      },
      status.INVALID_ARGUMENT,
      'malformed_field',
    ],
  ] as const)(
    'maps %s refusals to a status with the rule in ErrorInfo',
    async (method, request, code, reason) => {
      const error = await call(payments, method, request).then(
        () => undefined,
        (failure: GrpcError) => failure,
      );
      expect(error?.code).toBe(code);
      const [details] = error?.metadata.get('grpc-status-details-bin') ?? [];
      expect(decodeErrorStatus(details as Buffer)).toMatchObject({
        code,
        reason,
        domain: 'cellpay.io',
      });
    },
  );

  it('answers grpc.health.v1 and server reflection', async () => {
    const HealthClient = (await import('@grpc/grpc-js')).makeGenericClientConstructor(
      healthService,
      'Health',
    );
    const health = new HealthClient(address, credentials.createInsecure()) as unknown as Client;
    const reply = await call(health, 'check', { service: 'cellpay.cell.v1.PaymentService' });
    expect(reply['status']).toBe('SERVING');
    health.close();

    const reflectionProto = join(
      require.resolve('@grpc/reflection'),
      '..',
      '..',
      'proto',
      'grpc',
      'reflection',
      'v1alpha',
      'reflection.proto',
    );
    const reflectionRoot = loadPackageDefinition(loadSync(reflectionProto, loaderOptions));
    const reflection = clientOf(
      reflectionRoot,
      'grpc.reflection.v1alpha.ServerReflection',
      address,
    ) as unknown as {
      serverReflectionInfo(): NodeJS.ReadWriteStream & {
        write(message: object): boolean;
        end(): void;
      };
      close(): void;
    };
    const stream = reflection.serverReflectionInfo();
    const listed = new Promise<string[]>((resolve, reject) => {
      stream.on('data', (message: { listServicesResponse?: { service: { name: string }[] } }) =>
        resolve((message.listServicesResponse?.service ?? []).map((entry) => entry.name)),
      );
      stream.on('error', reject);
    });
    stream.write({ listServices: '' });
    const names = await listed;
    stream.end();
    reflection.close();
    expect(names).toEqual(
      expect.arrayContaining([
        'cellpay.cell.v1.AccountService',
        'cellpay.cell.v1.PaymentService',
        'cellpay.cell.v1.AccountingService',
      ]),
    );
  });
});
