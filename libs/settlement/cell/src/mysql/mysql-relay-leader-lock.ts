import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import type { RelayLeadership } from '../cell-outbox-source';

/**
 * The relay leader lock of one cell: a MySQL named lock (`GET_LOCK`) held on a dedicated
 * connection. The server frees it when that connection dies, so a crashed leader hands over
 * without a lease to expire; a replica that loses its connection stops publishing at once.
 *
 * Safe to call from several loops at once (the live and the shadow relay share one lock): a check
 * is single-flight, so callers that ask while one runs share its answer. Without that, two checks
 * could each open a connection (one leaking, and with it possibly the lock), take the lock twice
 * (named locks count, so one release would not free it), or destroy the connection the other is
 * using.
 */
export class MysqlRelayLeaderLock implements RelayLeadership {
  private connection: PoolConnection | undefined;
  private checking: Promise<boolean> | undefined;
  private releasing: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly lockName: string,
  ) {
    if (lockName.length > 64) throw new Error(`lock name ${lockName} is longer than 64`);
  }

  holds(): Promise<boolean> {
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Gives the lock up (after a check in flight has ended); the next `holds()` may take it again. */
  release(): Promise<void> {
    this.releasing ??= this.releaseAfterCheck().finally(() => {
      this.releasing = undefined;
    });
    return this.releasing;
  }

  private async check(): Promise<boolean> {
    // A release in flight ends first, so a check never runs on the connection being released.
    await this.releasing;
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

  private async releaseAfterCheck(): Promise<void> {
    await this.checking?.catch(() => false);
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
