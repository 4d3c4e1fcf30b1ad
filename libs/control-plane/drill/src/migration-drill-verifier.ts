import type { Pool, RowDataPacket } from 'mysql2/promise';

import { slotOfId } from '@cellpay/migration';

import type { AcknowledgedPayment } from './drill-load';
import type { DrillVerifier, PaymentPlacement } from './drill-operation';
import { lookupBatchSizeMax } from './shard-drill-verifier';

export interface MigrationDrillShards {
  /** The source cell's shard (the caller owns the pool). */
  readonly source: Pool;
  /** The target cell's shard. */
  readonly target: Pool;
  /** The slots the migration moves. */
  readonly movingSlots: readonly number[];
  /**
   * Whether the slots moved (the migration completed): their payments then belong on the target
   * and none may be left on the source; otherwise everything belongs on the source.
   */
  readonly moved: () => boolean;
}

interface Found {
  readonly source: Set<string>;
  readonly target: Set<string>;
  /** The payee account of each payment found on the source. */
  readonly sourcePayees: Map<string, string>;
  /** Payment IDs per `out_trade_no`, over both shards. */
  readonly byTradeNo: Map<string, Set<string>>;
}

/**
 * Checks the two shards of a slot migration after a drill: every acknowledged payment exists
 * exactly once across source and target, where it belongs after the move (a moved slot's payment
 * whose payee moved too is on the target and nothing of it is left on the source after the
 * clean; one whose payee stayed is kept on the source by design; nothing of a slot that stays, or
 * of an undone move, is on the target), no `out_trade_no` has two payments, and the
 * reconciliation (supplied: the cells' own code, both cells and the pairs between them) is clean.
 */
export class MigrationDrillVerifier implements DrillVerifier {
  constructor(
    private readonly shards: MigrationDrillShards,
    private readonly reconcileCells: () => Promise<{ clean: boolean; summary: string }>,
  ) {}

  async missingPayments(paymentIds: readonly string[]): Promise<string[]> {
    const found = await this.find(
      paymentIds.map((paymentId) => ({ paymentId, outTradeNo: '', acknowledgedAtMs: 0 })),
    );
    return paymentIds.filter((id) => !found.source.has(id) && !found.target.has(id));
  }

  async placement(acknowledged: readonly AcknowledgedPayment[]): Promise<PaymentPlacement> {
    const found = await this.find(acknowledged);
    const moved = this.shards.moved();
    const moving = (id: string | undefined) => {
      const slot = id === undefined ? undefined : slotOfId(id);
      return slot !== undefined && this.shards.movingSlots.includes(slot);
    };
    const duplicated = new Set<string>();
    const misplaced: string[] = [];
    const keptOnSource: string[] = [];
    for (const { paymentId, outTradeNo } of acknowledged) {
      const onSource = found.source.has(paymentId);
      const onTarget = found.target.has(paymentId);
      if (onSource && onTarget) duplicated.add(paymentId);
      for (const other of found.byTradeNo.get(outTradeNo) ?? []) {
        if (other !== paymentId) duplicated.add(`${paymentId} (${outTradeNo} also ${other})`);
      }
      if (!moved || !moving(paymentId)) {
        // Nothing of a slot that stays (or of a move that was undone) may reach the target.
        if (onTarget) misplaced.push(paymentId);
      } else if (onSource) {
        // The migration moves a payment of a moving payer only when its payee moves too; one to
        // a payee who stays remains on the source, whole, with its merchant (docs/operations.md).
        const payee = found.sourcePayees.get(paymentId);
        if (payee?.startsWith('acc_') === true && moving(payee)) misplaced.push(paymentId);
        else keptOnSource.push(paymentId);
      }
    }
    return { duplicated: [...duplicated], misplaced, keptOnSource };
  }

  reconcile(): Promise<{ clean: boolean; summary: string }> {
    return this.reconcileCells();
  }

  private async find(acknowledged: readonly AcknowledgedPayment[]): Promise<Found> {
    const found: Found = {
      source: new Set(),
      target: new Set(),
      sourcePayees: new Map(),
      byTradeNo: new Map(),
    };
    for (let start = 0; start < acknowledged.length; start += lookupBatchSizeMax) {
      const batch = acknowledged.slice(start, start + lookupBatchSizeMax);
      const ids = batch.map((payment) => payment.paymentId);
      const tradeNos = batch.map((payment) => payment.outTradeNo).filter((no) => no !== '');
      for (const side of ['source', 'target'] as const) {
        const pool = this.shards[side];
        const [byId] = await pool.query<RowDataPacket[]>(
          'SELECT id, payee_account_id FROM payments WHERE id IN (?)',
          [ids],
        );
        for (const row of byId) {
          found[side].add(String(row['id']));
          if (side === 'source')
            found.sourcePayees.set(String(row['id']), String(row['payee_account_id']));
        }
        if (tradeNos.length === 0) continue;
        const [byTradeNo] = await pool.query<RowDataPacket[]>(
          'SELECT id, out_trade_no FROM payments WHERE out_trade_no IN (?)',
          [tradeNos],
        );
        for (const row of byTradeNo) {
          const tradeNo = String(row['out_trade_no']);
          const set = found.byTradeNo.get(tradeNo) ?? new Set<string>();
          set.add(String(row['id']));
          found.byTradeNo.set(tradeNo, set);
        }
      }
    }
    return found;
  }
}
