import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import type { RelayLeadership } from '../cell-outbox-source';

/**
 * The relay leader lock of one cell: a MySQL named lock (`GET_LOCK`) held on a dedicated
 * connection. The server frees it when that connection dies, so a crashed leader hands over
 * without a lease to expire; a replica that loses its connection stops publishing at once.
 */
export class MysqlRelayLeaderLock implements RelayLeadership {
  private connection: PoolConnection | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly lockName: string,
  ) {
    if (lockName.length > 64) throw new Error(`lock name ${lockName} is longer than 64`);
  }

  async holds(): Promise<boolean> {
    try {
      if (this.connection === undefined) this.connection = await this.pool.getConnection();
      const [rows] = await this.connection.query<RowDataPacket[]>(
        'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine',
        [this.lockName],
      );
      if (Number(rows[0]?.['mine']) === 1) return true;
      const [taken] = await this.connection.query<RowDataPacket[]>(
        'SELECT GET_LOCK(?, 0) AS locked',
        [this.lockName],
      );
      return Number(taken[0]?.['locked']) === 1;
    } catch {
      // The connection (and with it the lock) is gone; try a fresh one next round.
      this.connection?.destroy();
      this.connection = undefined;
      return false;
    }
  }

  async release(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    await connection.query('SELECT RELEASE_LOCK(?)', [this.lockName]).catch(() => undefined);
    connection.release();
  }
}

/** The lock name of a cell's relay: one per shard database and table prefix. */
export function relayLockName(database: string, tablePrefix = ''): string {
  return `cellpay_relay_${tablePrefix}${database}`.slice(0, 64);
}
