import type { Pool } from 'mysql2/promise';

import { type ReconciliationReport, ReconcileCellUseCase } from '@cellpay/cell-accounting';
import { MysqlCellStore } from '@cellpay/cell-data-access';
import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';

import {
  type GlobalReconciliationReport,
  reconcileGlobal,
  type ReconciledCell,
} from './global-reconciliation';
import { MysqlSettlementStore } from './mysql/mysql-settlement-store';

/** A cell's shard as an operator tool reaches it: the cell's ID and its current primary. */
export interface CellShard {
  readonly cellId: string;
  readonly endpoint: MysqlEndpoint & { readonly database: string };
}

export interface CellReconciliation {
  readonly cellId: string;
  readonly report: ReconciliationReport;
}

export interface ShardReconciliationResult {
  /** Each cell's own books (the ten rules of docs/ledger.md). */
  readonly cells: readonly CellReconciliation[];
  /** The clearing pairs between the cells; absent when only some cells were reconciled. */
  readonly global?: GlobalReconciliationReport;
}

/** Connections per shard: reconciliation reads one bounded page at a time on one connection. */
const shardConnectionsMax = 2;

/**
 * Reconciles cells from outside (the control plane), reading their shards directly: each cell's
 * own books, and with `global`, every pair's clearing accounts against the money in flight. It
 * only reads; it takes the cell's own rules and the settlement rules from the code that owns them.
 */
export async function reconcileShards(
  shards: readonly CellShard[],
  options: { readonly global: boolean },
): Promise<ShardReconciliationResult> {
  const pools: Pool[] = [];
  try {
    const opened: ReconciledCell[] = shards.map((shard) => {
      const pool = createMysqlPool(shard.endpoint, {
        connectionsMax: shardConnectionsMax,
        queuedRequestsMax: 100,
        connectTimeoutMs: 5_000,
      });
      pools.push(pool);
      return {
        cellId: shard.cellId,
        unitOfWork: new MysqlCellStore(pool),
        store: new MysqlSettlementStore(),
      };
    });
    const cells: CellReconciliation[] = [];
    for (const cell of opened) {
      const report = await new ReconcileCellUseCase(cell.unitOfWork).execute();
      cells.push({ cellId: cell.cellId, report });
    }
    if (!options.global) return { cells };
    return { cells, global: await reconcileGlobal(opened) };
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
}
