import type { Pool } from 'mysql2/promise';

import type { CellTransaction, UnitOfWork, UnitOfWorkOptions } from '@cellpay/cell-domain';
import { MysqlCellStore } from '@cellpay/cell-data-access';
import { createMysqlPool, type MysqlEndpoint, type MysqlPoolLimits } from '@cellpay/connections';

/**
 * The cell's unit of work on whichever server is the shard's primary now. A repoint opens a pool
 * on the new primary and sends every new unit of work there; the old pool is closed once the units
 * already running on it have finished (after a fence they fail at once, read-only), so no
 * transaction is ever split across two servers.
 */
export class RepointableUnitOfWork implements UnitOfWork {
  private current: { endpoint: MysqlEndpoint; pool: Pool; store: MysqlCellStore };

  constructor(
    endpoint: MysqlEndpoint,
    private readonly limits: MysqlPoolLimits,
  ) {
    this.current = this.open(endpoint);
  }

  get endpoint(): MysqlEndpoint {
    return this.current.endpoint;
  }

  /** One round trip to the current primary (the readiness loop's probe). */
  async ping(): Promise<void> {
    await this.current.pool.query('SELECT 1');
  }

  run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    return this.current.store.run(operation, work, options);
  }

  /** Points new units of work at `host:port`; false when it already pointed there. */
  async repoint(host: string, port: number): Promise<boolean> {
    const previous = this.current;
    if (previous.endpoint.host === host && previous.endpoint.port === port) return false;
    this.current = this.open({ ...previous.endpoint, host, port });
    // pool.end() lets checked-out connections finish their statement and closes them on release.
    await previous.pool.end().catch(() => undefined);
    return true;
  }

  async close(): Promise<void> {
    await this.current.pool.end();
  }

  private open(endpoint: MysqlEndpoint) {
    const pool = createMysqlPool(endpoint, this.limits);
    return { endpoint, pool, store: new MysqlCellStore(pool) };
  }
}
