import { createKafka } from '@cellpay/connections';
import { createLogger } from '@cellpay/observability';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { dropRealCells, type RealCell, startRealCells } from './__tests__/real-cells.fixture';
import { payerAndMerchant, slotRouter } from './__tests__/settlement-cell.harness';
import { type RelayRuntime, startRelayRuntime } from './relay-runtime';

describe('relay process on real MariaDB and Kafka', () => {
  const router = slotRouter(['cell-1', 'cell-2']);
  const infra = readInfraEndpoints();
  const prefix = uniqueName('stlrelay');
  let cells: RealCell[];
  const runtimes: RelayRuntime[] = [];

  beforeAll(async () => {
    cells = await startRealCells(router, 2);
    const admin = createKafka({ brokers: infra.kafka.brokers, clientId: 'relay-test' }).admin();
    await admin.connect();
    await ensureSettlementTopics(
      admin,
      cells.map((cell) => cell.cellId),
      prefix,
    );
    await admin.disconnect();
    for (const cell of cells) {
      const options = {
        cellId: cell.cellId,
        slotCount: 100,
        shard: { ...infra.mysql, port: cell.port, database: cell.database },
        shardConnectionsMax: 4,
        kafkaBrokers: infra.kafka.brokers,
        topicPrefix: prefix,
        batchSizeMax: 100,
        opsPort: 0,
      };
      runtimes.push(
        await startRelayRuntime(options, createLogger('relay-test', { level: 'error' })),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const runtime of runtimes) await runtime.stop();
    if (cells !== undefined) await dropRealCells(cells);
  }, 120_000);

  it('settles a cross-cell payment through two relay processes and exports lag and depth', async () => {
    const [a, b] = cells;
    const [, relayOfB] = runtimes;
    if (a === undefined || b === undefined || relayOfB === undefined) throw new Error('2 cells');
    const { merchantId, merchantAccountId, payerAccountId } = await payerAndMerchant(
      router,
      a,
      b,
      'relay',
      '900',
    );
    const saga = await a.crossCell.pay({
      merchantId,
      outTradeNo: 'relay-1',
      payerAccountId,
      amountMinor: '900',
      currency: 'CNY',
    });
    await pollUntil(async () => (await a.crossCell.saga(saga.sagaId)).state === 'settled', {
      timeoutMs: 60_000,
      description: 'settled through the relay processes',
    });
    expect((await b.accounts.balance(merchantAccountId)).balanceMinor).toBe('900');

    const base = `http://127.0.0.1:${relayOfB.opsPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /cellpay_settlement_lag_seconds_count\{source_cell="cell-1",destination_cell="cell-2"\} 1/,
    );
    expect(metrics).toMatch(/cellpay_outbox_depth\{cell="cell-2"\} \d+/);
    expect(metrics).toMatch(/cellpay_dead_letter_messages\{cell="cell-2"\} 0/);
  }, 120_000);
});
