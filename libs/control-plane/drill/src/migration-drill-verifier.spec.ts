import type { Pool } from 'mysql2/promise';

import { MigrationDrillVerifier } from './migration-drill-verifier';

/** A shard that answers the verifier's two lookups from a list of payment rows. */
function shard(rows: readonly { id: string; tradeNo: string; payee?: string }[]): Pool {
  const query = async (sql: string, [values]: [string[]]) => {
    const wanted = new Set(values);
    const byId = sql.includes('WHERE id IN');
    return [
      rows
        .filter((row) => wanted.has(byId ? row.id : row.tradeNo))
        .map((row) => ({
          id: row.id,
          out_trade_no: row.tradeNo,
          payee_account_id: row.payee ?? movingMerchant,
        })),
    ];
  };
  return { query } as unknown as Pool;
}

const movingMerchant = `acc_0017${'m'.repeat(24)}`;
const stayingMerchant = `acc_0003${'m'.repeat(24)}`;
const movingId = (n: number) => `pay_0017${String(n).padStart(24, 'a')}`;
const stayingId = (n: number) => `pay_0003${String(n).padStart(24, 'b')}`;
const acknowledged = (id: string, tradeNo: string) => ({
  paymentId: id,
  outTradeNo: tradeNo,
  acknowledgedAtMs: 0,
});

describe('MigrationDrillVerifier', () => {
  const clean = async () => ({ clean: true, summary: 'clean' });

  it('accepts each payment once, on the shard that owns its slot after the move', async () => {
    const verifier = new MigrationDrillVerifier(
      {
        source: shard([{ id: stayingId(1), tradeNo: 't1' }]),
        target: shard([{ id: movingId(2), tradeNo: 't2' }]),
        movingSlots: [17, 18],
        moved: () => true,
      },
      clean,
    );
    const payments = [acknowledged(stayingId(1), 't1'), acknowledged(movingId(2), 't2')];
    expect(await verifier.missingPayments(payments.map((p) => p.paymentId))).toEqual([]);
    expect(await verifier.placement(payments)).toEqual({
      duplicated: [],
      misplaced: [],
      keptOnSource: [],
    });
  });

  it('finds payments missing, held twice, two for one trade number, or left on the source', async () => {
    const verifier = new MigrationDrillVerifier(
      {
        source: shard([
          { id: movingId(1), tradeNo: 't1' },
          { id: movingId(2), tradeNo: 't2' },
        ]),
        target: shard([
          { id: movingId(2), tradeNo: 't2' },
          { id: movingId(3), tradeNo: 't3' },
          { id: movingId(4), tradeNo: 't3' },
        ]),
        movingSlots: [17],
        moved: () => true,
      },
      clean,
    );
    const payments = [
      acknowledged(movingId(1), 't1'),
      acknowledged(movingId(2), 't2'),
      acknowledged(movingId(3), 't3'),
      acknowledged(movingId(9), 't9'),
    ];
    expect(await verifier.missingPayments(payments.map((p) => p.paymentId))).toEqual([movingId(9)]);
    expect(await verifier.placement(payments)).toEqual({
      duplicated: [movingId(2), `${movingId(3)} (t3 also ${movingId(4)})`],
      misplaced: [movingId(1), movingId(2)],
      keptOnSource: [],
    });
  });

  it('expects everything on the source when the slots did not move (an aborted migration)', async () => {
    const verifier = new MigrationDrillVerifier(
      {
        source: shard([{ id: movingId(1), tradeNo: 't1' }]),
        target: shard([{ id: movingId(2), tradeNo: 't2' }]),
        movingSlots: [17],
        moved: () => false,
      },
      clean,
    );
    expect(
      await verifier.placement([acknowledged(movingId(1), 't1'), acknowledged(movingId(2), 't2')]),
    ).toEqual({ duplicated: [], misplaced: [movingId(2)], keptOnSource: [] });
  });

  it('keeps a moved payer’s payment to a payee who stays on the source, as the migration does', async () => {
    const verifier = new MigrationDrillVerifier(
      {
        source: shard([{ id: movingId(1), tradeNo: 't1', payee: stayingMerchant }]),
        target: shard([{ id: movingId(2), tradeNo: 't2', payee: stayingMerchant }]),
        movingSlots: [17],
        moved: () => true,
      },
      clean,
    );
    expect(
      await verifier.placement([acknowledged(movingId(1), 't1'), acknowledged(movingId(2), 't2')]),
    ).toEqual({ duplicated: [], misplaced: [], keptOnSource: [movingId(1)] });
  });
});
