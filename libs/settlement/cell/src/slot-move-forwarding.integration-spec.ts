import { requireAccount } from '@cellpay/cell-domain';
import { slotOf } from '@cellpay/routing';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';
import { pollUntil } from '@cellpay/testing';

import {
  CellSettlementProcess,
  DeliveryLog,
  dropRealCells,
  openTestKafka,
  type RealCell,
  startRealCells,
  type TestKafka,
} from './__tests__/real-cells.fixture';
import { RoutingWorld, slotCount } from './__tests__/routing-world';
import { payerAndMerchant } from './__tests__/settlement-cell.harness';
import { reconcileGlobal } from './global-reconciliation';

/**
 * A credit produced for a payee whose slot then moves (real MariaDB shards, real Kafka, relays
 * and consumers in this process): it must be applied once, on the payee's new cell, never on the
 * zero-balance anchor the move leaves behind, even when Kafka delivers it twice.
 */
describe('a cross-cell credit for a payee whose slot moves before it is applied', () => {
  const world = new RoutingWorld();
  let testKafka: TestKafka | undefined;
  let cells: RealCell[];
  let processes: Map<string, CellSettlementProcess>;
  const log = new DeliveryLog();

  const cellOf = (cellId: string): RealCell => {
    const cell = cells.find((candidate) => candidate.cellId === cellId);
    if (cell === undefined) throw new Error(`no ${cellId}`);
    return cell;
  };
  const processOf = (cellId: string): CellSettlementProcess => {
    const found = processes.get(cellId);
    if (found === undefined) throw new Error(`no process of ${cellId}`);
    return found;
  };

  beforeAll(async () => {
    testKafka = await openTestKafka('slot-move-forwarding', 'stlfwd');
    const { kafka, admin, producer, prefix } = testKafka;
    cells = await startRealCells(world.routingOf('cell-1').router, 3, {
      routingOf: (cellId) => world.routingOf(cellId),
    });
    await ensureSettlementTopics(
      admin,
      cells.map((cell) => cell.cellId),
      prefix,
    );
    processes = new Map(
      cells.map((cell) => [
        cell.cellId,
        new CellSettlementProcess(cell, kafka, producer, prefix, log),
      ]),
    );
  }, 120_000);

  afterAll(async () => {
    for (const process of processes?.values() ?? []) await process.stop();
    if (cells !== undefined) await dropRealCells(cells);
    await testKafka?.close();
  }, 120_000);

  it('is applied once on the new owner, never on the anchor, and the payment settles', async () => {
    const router = world.routingOf('cell-1').router;
    const payer = cellOf('cell-2');
    const { merchantId, merchantAccountId, payerAccountId } = await payerAndMerchant(
      router,
      payer,
      cellOf('cell-1'),
      'fwd',
      '10000',
    );
    const merchantSlot = slotOf(merchantId, slotCount);

    // Every relay runs; cell-1's consumer does not yet: the credit waits in Kafka. Each relay
    // "crashes" once between publishing and marking, so Kafka carries the credit, its forward
    // and the replies twice.
    for (const process of processes.values()) {
      process.outbox.crashBeforeNextMark = true;
      process.startRelay();
    }
    await processOf('cell-2').startConsumer();
    await processOf('cell-3').startConsumer();
    const saga = await payer.crossCell.pay({
      merchantId,
      outTradeNo: 'fwd-order-1',
      payerAccountId,
      amountMinor: '2500',
      currency: 'CNY',
    });
    const creditEventId = `${saga.sagaId}.credit_requested`;
    await pollUntil(async () => (await payer.source.depth()) === 0, {
      timeoutMs: 30_000,
      description: 'the credit published by cell-2',
    });
    expect(processOf('cell-2').outbox.crashes).toBe(1);

    // The move begins: frozen on cell-1. Its consumer starts and must keep the credit waiting.
    world.change(merchantSlot, { cellId: 'cell-1', state: 'frozen' });
    await processOf('cell-1').startConsumer();
    await pollUntil(() => log.errors.some((error) => error.includes('frozen at epoch')), {
      timeoutMs: 30_000,
      description: 'cell-1 refusing the credit while the slot is frozen',
    });
    expect((await cellOf('cell-1').accounts.balance(merchantAccountId)).balanceMinor).toBe('0');

    // Copied to cell-3 (the merchant holds nothing yet), then the flip.
    const account = requireAccount(
      await cellOf('cell-1').unitOfWork.run('test.read', (tx) =>
        tx.accounts.findById(merchantAccountId),
      ),
      merchantAccountId,
    );
    await cellOf('cell-3').unitOfWork.run('test.copy', (tx) => tx.accounts.insert(account));
    world.change(merchantSlot, { cellId: 'cell-3', state: 'active' });

    await pollUntil(async () => (await payer.crossCell.saga(saga.sagaId)).state === 'settled', {
      timeoutMs: 60_000,
      description: `the payment settled (errors: ${log.errors.slice(-3).join(' | ')})`,
    });
    // Quiet: every relay drained, every duplicate consumed.
    await pollUntil(
      async () => {
        for (const cell of cells) if ((await cell.source.depth()) !== 0) return false;
        return (await reconcileGlobal(cells, 1)).quiet;
      },
      { timeoutMs: 60_000, description: 'nothing in flight' },
    );

    expect((await cellOf('cell-3').accounts.balance(merchantAccountId)).balanceMinor).toBe('2500');
    expect((await cellOf('cell-1').accounts.balance(merchantAccountId)).balanceMinor).toBe('0');
    expect((await payer.accounts.balance(payerAccountId)).balanceMinor).toBe('7500');
    // Forwarded once by cell-1, applied once by cell-3; every other delivery was a duplicate.
    expect(log.forwarded.get(creditEventId)).toBe(1);
    expect(log.applied.get(creditEventId)).toBe(1);
    expect(log.appliedTwice()).toBe(0);
    expect(log.duplicates).toBeGreaterThanOrEqual(2);
    const statement = await cellOf('cell-1').accounts.statement(merchantAccountId, 10, '');
    expect(statement.lines).toEqual([]);

    expect(await reconcileGlobal(cells)).toMatchObject({ clean: true, quiet: true });
    for (const cell of cells) {
      const report = await cell.accounting.reconcile();
      expect([cell.cellId, report.differences]).toEqual([cell.cellId, []]);
    }
    console.log(
      JSON.stringify({
        forwarded: Object.fromEntries(log.forwarded),
        duplicates: log.duplicates,
        relayCrashes: [...processes.values()].map((process) => process.outbox.crashes),
        retriedErrors: log.errors.length,
      }),
    );
  }, 180_000);
});
