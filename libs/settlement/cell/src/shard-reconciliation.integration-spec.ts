import { runInRequestContext } from '@cellpay/observability';
import { readInfraEndpoints } from '@cellpay/testing';

import { type CellShard, reconcileShards } from './shard-reconciliation';
import { dropRealCells, type RealCell, startRealCells } from './__tests__/real-cells.fixture';
import { deliverAll, payerAndMerchant, slotRouter } from './__tests__/settlement-cell.harness';

/** What cellctl reconcile runs: both cells' books and their clearing pair, read from the shards. */
describe('reconciling real shards from outside', () => {
  const router = slotRouter(['cell-1', 'cell-2']);
  const infra = readInfraEndpoints();
  let cells: RealCell[];
  let shards: CellShard[];

  beforeAll(async () => {
    cells = await startRealCells(router, 2, { shadowTables: true });
    shards = cells.map((cell) => ({
      cellId: cell.cellId,
      endpoint: { ...infra.mysql, port: cell.port, database: cell.database },
    }));
  }, 120_000);

  afterAll(async () => {
    if (cells !== undefined) await dropRealCells(cells);
  });

  it('is clean and quiet once settled, names money in flight, and names a corrupted account', async () => {
    const [a, b] = cells;
    if (a === undefined || b === undefined) throw new Error('two cells expected');
    const parties = await payerAndMerchant(router, a, b, 'recon', '5000');
    const pay = (outTradeNo: string, amountMinor: string) =>
      a.crossCell.pay({
        merchantId: parties.merchantId,
        outTradeNo,
        payerAccountId: parties.payerAccountId,
        amountMinor,
        currency: 'CNY',
      });

    await pay('settled-1', '700');
    await deliverAll(cells);
    const settled = await reconcileShards(shards, { global: true });
    expect(settled.cells.map((cell) => [cell.cellId, cell.report.clean])).toEqual([
      ['cell-1', true],
      ['cell-2', true],
    ]);
    expect(settled.global).toMatchObject({ clean: true, quiet: true });
    expect(settled.global?.pairs[0]).toMatchObject({ clearingNetMinor: '0', inFlightCount: 0 });

    // Paid, not yet delivered: the pair is still clean, with the payment named as in flight.
    const inFlight = await pay('in-flight-1', '250');
    const pending = await reconcileShards(shards, { global: true });
    expect(pending.global).toMatchObject({ clean: true, quiet: false });
    expect(pending.global?.pairs[0]).toMatchObject({
      inFlightMinor: '250',
      inFlightCount: 1,
      differenceMinor: '0',
    });
    expect(pending.global?.pairs[0]?.inFlight[0]?.eventId).toContain(inFlight.sagaId);

    // One cell alone: no global section, and only that cell's books are read.
    const single = await reconcileShards([shards[1] as CellShard], { global: false });
    expect(single.cells.map((cell) => cell.cellId)).toEqual(['cell-2']);
    expect(single.global).toBeUndefined();

    // In a stress context the same call reads the shadow tables: stress traffic paid there, the
    // live payment in flight is not seen, and the shadow books are clean on their own.
    await runInRequestContext({ requestId: 'recon-shadow', stress: true }, async () => {
      const shadowParties = await payerAndMerchant(router, a, b, 'recon-shadow', '900');
      await a.crossCell.pay({
        merchantId: shadowParties.merchantId,
        outTradeNo: 'shadow-1',
        payerAccountId: shadowParties.payerAccountId,
        amountMinor: '400',
        currency: 'CNY',
      });
    });
    const shadow = await runInRequestContext({ requestId: 'recon-shadow-2', stress: true }, () =>
      reconcileShards(shards, { global: true }),
    );
    expect(shadow.cells.every((cell) => cell.report.clean)).toBe(true);
    expect(shadow.global?.pairs[0]).toMatchObject({ inFlightMinor: '400', differenceMinor: '0' });
    const stillLive = await reconcileShards(shards, { global: true });
    expect(stillLive.global?.pairs[0]).toMatchObject({ inFlightMinor: '250' });

    // A balance changed behind the ledger's back is named, with the amount it is off by.
    await b.pool.query('UPDATE accounts SET balance_minor = balance_minor + 3 WHERE id = ?', [
      parties.merchantAccountId,
    ]);
    const corrupted = await reconcileShards(shards, { global: false });
    const report = corrupted.cells.find((cell) => cell.cellId === 'cell-2')?.report;
    expect(report?.clean).toBe(false);
    expect(report?.differences).toContainEqual(
      expect.objectContaining({
        rule: 'account_balance_equals_journals',
        subjectId: parties.merchantAccountId,
        differenceMinor: 3n,
      }),
    );
  }, 120_000);
});
