import type { RowDataPacket } from 'mysql2/promise';

import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';

import type { DrillVerifier } from './drill-operation';

/** Payment IDs looked up per query. */
export const lookupBatchSizeMax = 500;

/**
 * Checks a cell's shard after a drill: each acknowledged payment must exist on the primary of the
 * moment (found through `primary()`, which reads the topology after the operation), and the cell's
 * reconciliation (supplied: it runs the cell's own code) must be clean.
 */
export class ShardDrillVerifier implements DrillVerifier {
  constructor(
    private readonly primary: () => Promise<MysqlEndpoint & { database: string }>,
    private readonly reconcileCell: () => Promise<{ clean: boolean; summary: string }>,
  ) {}

  async missingPayments(paymentIds: readonly string[]): Promise<string[]> {
    const pool = createMysqlPool(await this.primary(), {
      connectionsMax: 1,
      queuedRequestsMax: 4,
      connectTimeoutMs: 5_000,
    });
    try {
      const missing: string[] = [];
      for (let start = 0; start < paymentIds.length; start += lookupBatchSizeMax) {
        const batch = paymentIds.slice(start, start + lookupBatchSizeMax);
        const [rows] = await pool.query<RowDataPacket[]>(
          'SELECT id FROM payments WHERE id IN (?)',
          [batch],
        );
        const found = new Set(rows.map((row) => String(row['id'])));
        missing.push(...batch.filter((id) => !found.has(id)));
      }
      return missing;
    } finally {
      await pool.end();
    }
  }

  reconcile(): Promise<{ clean: boolean; summary: string }> {
    return this.reconcileCell();
  }
}
