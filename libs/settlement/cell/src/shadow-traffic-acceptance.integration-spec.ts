import type { INestMicroservice } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2/promise';

import { dataTablesOf, liveTables, shadowTables } from '@cellpay/cell-data-access';
import { AccountKind } from '@cellpay/cell-domain';
import { startCellGrpcServer } from '@cellpay/cell-server';
import { call, cellClients, type Client, freePort } from '@cellpay/cell-testing';
import { createKafka } from '@cellpay/connections';
import { createLogger, requestContextMetadata, runInRequestContext } from '@cellpay/observability';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';
import { RandomIdGenerator, SystemClock } from '@cellpay/cell-data-access';

import { dropRealCells, type RealCell, startRealCells } from './__tests__/real-cells.fixture';
import { payerAndMerchant, slotRouter, userOn } from './__tests__/settlement-cell.harness';
import { reconcileGlobal } from './global-reconciliation';
import { settlementTableSet } from './mysql/settlement-migrations';
import { type RelayRuntime, startRelayRuntime } from './relay-runtime';

/** The shadow batch: at most this many calls through the cell's gRPC server. */
const shadowCallsMax = 40;

type LogLine = Record<string, unknown>;

function capturingLogger(service: string, lines: LogLine[]) {
  return createLogger(service, {
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
}

/**
 * Issue #7's acceptance: stress traffic runs through the real cell gRPC server (stress metadata)
 * and through real relays, Kafka and consumers across two cells, on real MariaDB. Every real
 * figure (table checksums, balances, statements, trial balance, cell and global reconciliation)
 * is exactly as before; the shadow tables hold the effects and reconcile clean on their own; the
 * request ID sent with a call shows up in the cell's and the consumer's logs.
 */
describe('shadow traffic end to end on real MariaDB and Kafka', () => {
  const router = slotRouter(['cell-1', 'cell-2']);
  const infra = readInfraEndpoints();
  const prefix = uniqueName('shadow');
  const cellLines: LogLine[] = [];
  const relayLines: LogLine[] = [];
  let cells: RealCell[] = [];
  let a: RealCell;
  let b: RealCell;
  const runtimes: RelayRuntime[] = [];
  let server: INestMicroservice | undefined;
  let accounts: Client;
  let payments: Client;
  let accounting: Client;
  let shadowCalls = 0;
  const today = new Date().toISOString().slice(0, 10);

  /** A call to cell A's gRPC server exactly as the gateway forwards a stress request. */
  const stress = (client: Client, method: string, request: object, requestId: string) => {
    shadowCalls += 1;
    if (shadowCalls > shadowCallsMax) throw new Error('the shadow batch is bounded');
    return call(client, method, request, {
      [requestContextMetadata.requestId]: requestId,
      [requestContextMetadata.stress]: '1',
    });
  };

  beforeAll(async () => {
    cells = await startRealCells(router, 2, { shadowTables: true });
    const [first, second] = cells;
    if (first === undefined || second === undefined) throw new Error('two cells needed');
    [a, b] = [first, second];
    const clock = new SystemClock();
    const port = await freePort();
    server = await startCellGrpcServer(
      {
        unitOfWork: a.unitOfWork,
        clock,
        idGenerator: new RandomIdGenerator(clock),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: a.cellId, slotCount: 100 },
      },
      { port, host: '127.0.0.1', logger: capturingLogger('cell', cellLines) },
    );
    ({ accounts, payments, accounting } = cellClients(`127.0.0.1:${port}`));

    const admin = createKafka({ brokers: infra.kafka.brokers, clientId: 'shadow-test' }).admin();
    await admin.connect();
    await ensureSettlementTopics(admin, [a.cellId, b.cellId], prefix);
    await admin.disconnect();
    for (const cell of cells) {
      const logger =
        cell === b
          ? capturingLogger('relay', relayLines)
          : createLogger('relay', { level: 'error' });
      runtimes.push(
        await startRelayRuntime(
          {
            cellId: cell.cellId,
            slotCount: 100,
            shard: { ...infra.mysql, port: cell.port, database: cell.database },
            shardConnectionsMax: 4,
            kafkaBrokers: infra.kafka.brokers,
            topicPrefix: prefix,
            batchSizeMax: 100,
            opsPort: 0,
          },
          logger,
        ),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const client of [accounts, payments, accounting]) client?.close();
    await server?.close();
    for (const runtime of runtimes) await runtime.stop();
    await dropRealCells(cells);
  }, 120_000);

  /** Live books of both cells: some same-cell money movements, a settled cross-cell payment. */
  async function liveBusiness(): Promise<{ accountIds: string[]; payerId: string }> {
    const funding = await call(accounts, 'openAccount', {
      kind: AccountKind.ExternalFunding,
      ownerId: 'bank',
      currency: 'CNY',
    });
    const payerOwner = userOn(router, a.cellId, 'live-user');
    const payer = await call(accounts, 'openAccount', {
      kind: AccountKind.UserWallet,
      ownerId: payerOwner,
      currency: 'CNY',
    });
    const shopOwner = userOn(router, a.cellId, 'live-shop');
    const shop = await call(accounts, 'openAccount', {
      kind: AccountKind.Merchant,
      ownerId: shopOwner,
      currency: 'CNY',
    });
    await call(accounts, 'topUp', {
      clientId: 'bank',
      requestId: 'live-top-up',
      fromAccountId: funding['accountId'],
      toAccountId: payer['accountId'],
      amountMinor: '10000',
      currency: 'CNY',
    });
    const payment = await call(payments, 'pay', {
      merchantId: shopOwner,
      outTradeNo: 'live-order',
      payerAccountId: payer['accountId'],
      amountMinor: '2500',
      currency: 'CNY',
    });
    await call(payments, 'refundPayment', {
      merchantId: shopOwner,
      paymentId: payment['paymentId'],
      outRefundNo: 'live-refund',
      amountMinor: '500',
    });
    const cross = await payerAndMerchant(router, a, b, 'live-x', '4000');
    const saga = await a.crossCell.pay({
      merchantId: cross.merchantId,
      outTradeNo: 'live-x-order',
      payerAccountId: cross.payerAccountId,
      amountMinor: '900',
      currency: 'CNY',
    });
    await pollUntil(async () => (await a.crossCell.saga(saga.sagaId)).state === 'settled', {
      timeoutMs: 60_000,
      description: 'the live cross-cell payment settled',
    });
    // Nothing of it may still be moving when the figures are taken.
    await pollUntil(
      async () =>
        (await a.source.depth()) === 0 && (await b.source.depth()) === 0 ? true : undefined,
      { timeoutMs: 30_000, description: 'live outboxes drained' },
    );
    return {
      accountIds: [
        String(funding['accountId']),
        String(payer['accountId']),
        String(shop['accountId']),
      ],
      payerId: String(payer['accountId']),
    };
  }

  /** Everything real a client, an accountant or an auditor can read, plus table checksums. */
  async function realFigures(accountIds: readonly string[], payerId: string): Promise<unknown> {
    const checksums: Record<string, string[]> = {};
    const liveSettlement = settlementTableSet();
    const tables = [
      ...dataTablesOf(liveTables),
      liveSettlement.outbox,
      liveSettlement.inbox,
      liveSettlement.sagas,
    ];
    for (const cell of cells) {
      const [rows] = await cell.pool.query<RowDataPacket[]>(
        `CHECKSUM TABLE ${tables.map((table) => `\`${table}\``).join(', ')}`,
      );
      checksums[cell.cellId] = rows.map(
        (row) => `${String(row['Table'])}=${String(row['Checksum'])}`,
      );
    }
    const balances = [];
    for (const accountId of accountIds)
      balances.push(await call(accounts, 'getBalance', { accountId }));
    return {
      checksums,
      balances,
      statement: await call(accounts, 'getStatement', { accountId: payerId, pageSize: 50 }),
      trialBalance: await call(accounting, 'getTrialBalance', { businessDay: today }),
      reconciliationA: await call(accounting, 'reconcile', {}),
      reconciliationB: await b.accounting.reconcile(),
      global: await reconcileGlobal([a, b]),
    };
  }

  async function countRows(cell: RealCell, table: string): Promise<number> {
    const [rows] = await cell.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
    return Number(rows[0]?.['n']);
  }

  it('leaves every real figure exactly as it was, and the shadow books hold and reconcile the run', async () => {
    const live = await liveBusiness();
    const before = await realFigures(live.accountIds, live.payerId);
    expect(before).toMatchObject({
      reconciliationA: { clean: true },
      reconciliationB: { clean: true },
      global: { clean: true, quiet: true },
    });

    // Same-cell shadow traffic through the real gRPC server: the same owners as the live books
    // (shadow tables are separate, so the same natural keys do not collide), bounded in count.
    const funding = await stress(
      accounts,
      'openAccount',
      { kind: AccountKind.ExternalFunding, ownerId: 'bank', currency: 'CNY' },
      'req-gw-open-0',
    );
    const shopOwner = userOn(router, a.cellId, 'live-shop');
    const shop = await stress(
      accounts,
      'openAccount',
      { kind: AccountKind.Merchant, ownerId: shopOwner, currency: 'CNY' },
      'req-gw-open-1',
    );
    expect(live.accountIds).not.toContain(shop['accountId']);
    const wallets: string[] = [];
    for (let n = 0; n < 3; n++) {
      const wallet = await stress(
        accounts,
        'openAccount',
        {
          kind: AccountKind.UserWallet,
          ownerId: userOn(router, a.cellId, n === 0 ? 'live-user' : `shadow-user-${n}`),
          currency: 'CNY',
        },
        `req-gw-open-wallet-${n}`,
      );
      wallets.push(String(wallet['accountId']));
      await stress(
        accounts,
        'topUp',
        {
          clientId: 'bank',
          requestId: `shadow-top-up-${n}`,
          fromAccountId: funding['accountId'],
          toAccountId: wallet['accountId'],
          amountMinor: '10000',
          currency: 'CNY',
        },
        `req-gw-top-up-${n}`,
      );
    }
    for (let n = 0; n < 3; n++) {
      await stress(
        accounts,
        'transferMoney',
        {
          clientId: 'wallet-app',
          requestId: `shadow-transfer-${n}`,
          fromAccountId: wallets[n],
          toAccountId: wallets[(n + 1) % 3],
          amountMinor: '100',
          currency: 'CNY',
        },
        `req-gw-transfer-${n}`,
      );
    }
    const paymentIds: string[] = [];
    for (let n = 0; n < 6; n++) {
      const payment = await stress(
        payments,
        'pay',
        {
          merchantId: shopOwner,
          outTradeNo: `shadow-order-${n}`,
          payerAccountId: wallets[n % 3],
          amountMinor: '500',
          currency: 'CNY',
        },
        `req-gw-pay-${n}`,
      );
      paymentIds.push(String(payment['paymentId']));
    }
    for (let n = 0; n < 3; n++) {
      await stress(
        payments,
        'refundPayment',
        {
          merchantId: shopOwner,
          paymentId: paymentIds[n],
          outRefundNo: `shadow-refund-${n}`,
          amountMinor: '200',
        },
        `req-gw-refund-${n}`,
      );
    }
    // A refusal in shadow is a refusal as in live: no effect anywhere.
    await expect(
      stress(
        payments,
        'pay',
        {
          merchantId: shopOwner,
          outTradeNo: 'shadow-too-much',
          payerAccountId: wallets[0],
          amountMinor: '99999999',
          currency: 'CNY',
        },
        'req-gw-refused',
      ),
    ).rejects.toMatchObject({ code: 9 });

    // Cross-cell shadow traffic: the cross-cell use case runs in the request's context (as the
    // cell's gRPC handler would), then the real relays, Kafka topics and consumers carry it.
    const crossRequestId = 'req-gw-cross-1';
    const crossSaga = await runInRequestContext(
      { requestId: crossRequestId, stress: true },
      async () => {
        const cross = await payerAndMerchant(router, a, b, 'live-x', '4000');
        const saga = await a.crossCell.pay({
          merchantId: cross.merchantId,
          outTradeNo: 'shadow-x-order',
          payerAccountId: cross.payerAccountId,
          amountMinor: '1200',
          currency: 'CNY',
        });
        await pollUntil(async () => (await a.crossCell.saga(saga.sagaId)).state === 'settled', {
          timeoutMs: 60_000,
          description: 'the shadow cross-cell payment settled',
        });
        const refund = await a.crossCell.refund({
          merchantId: cross.merchantId,
          paymentId: saga.sagaId,
          outRefundNo: 'shadow-x-refund',
          amountMinor: '300',
        });
        await pollUntil(async () => (await a.crossCell.saga(refund.sagaId)).state === 'succeeded', {
          timeoutMs: 60_000,
          description: 'the shadow cross-cell refund succeeded',
        });
        return { ...cross, sagaId: saga.sagaId };
      },
    );
    // The live saga table never heard of it.
    await expect(a.crossCell.saga(crossSaga.sagaId)).rejects.toMatchObject({
      code: 'saga_not_found',
    });

    // Every real figure is exactly as before.
    expect(await realFigures(live.accountIds, live.payerId)).toEqual(before);

    // The shadow tables hold the run.
    const shadowSettlement = settlementTableSet(shadowTables.prefix);
    expect(await countRows(a, shadowTables.payments)).toBeGreaterThanOrEqual(7);
    expect(await countRows(a, shadowTables.refunds)).toBeGreaterThanOrEqual(3);
    expect(await countRows(a, shadowTables.transfers)).toBeGreaterThanOrEqual(6);
    expect(await countRows(a, shadowSettlement.sagas)).toBe(2);
    expect(await countRows(b, shadowSettlement.inbox)).toBe(2);
    expect(await countRows(a, shadowSettlement.inbox)).toBe(2);
    const shadowShop = await stress(
      accounts,
      'getBalance',
      { accountId: shop['accountId'] },
      'req-gw-read-shop',
    );
    expect(shadowShop['balanceMinor']).toBe(String(6 * 500 - 3 * 200));
    const shadowMerchantB = await runInRequestContext(
      { requestId: 'req-gw-read-b', stress: true },
      () => b.accounts.balance(crossSaga.merchantAccountId),
    );
    expect(shadowMerchantB.balanceMinor).toBe('900');

    // ... and reconcile clean by the same rules, cell by cell and across the cells.
    const shadowReport = await stress(accounting, 'reconcile', {}, 'req-gw-reconcile');
    expect(shadowReport).toMatchObject({ clean: true, differenceCount: 0 });
    expect(Number(shadowReport['accountsChecked'])).toBeGreaterThanOrEqual(6);
    expect(Number(shadowReport['paymentsChecked'])).toBeGreaterThanOrEqual(7);
    await runInRequestContext({ requestId: 'req-gw-reconcile-b', stress: true }, async () => {
      expect(await b.accounting.reconcile()).toMatchObject({ clean: true });
      expect(await reconcileGlobal([a, b])).toMatchObject({ clean: true, quiet: true });
    });

    // The request ID sent with a call follows it into the cell's and the consumer's logs.
    expect(cellLines).toContainEqual(
      expect.objectContaining({ msg: 'cell call', requestId: 'req-gw-pay-3', stress: true }),
    );
    expect(relayLines).toContainEqual(
      expect.objectContaining({ msg: 'inbox: event', requestId: crossRequestId, stress: true }),
    );
    expect(shadowCalls).toBeLessThanOrEqual(shadowCallsMax);
  });
});
