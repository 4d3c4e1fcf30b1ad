import type { Pool } from 'mysql2/promise';

import {
  CellError,
  CellErrorCode,
  type CellTransaction,
  type UnitOfWork,
  type UnitOfWorkOptions,
} from '@cellpay/cell-domain';
import {
  MysqlCellStore,
  type MysqlCellStoreOptions,
  mysqlCellStoreOptionsDefault,
} from '@cellpay/cell-data-access';
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
    private readonly storeOptions: MysqlCellStoreOptions = mysqlCellStoreOptionsDefault,
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

  async run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    try {
      return await this.current.store.run(operation, work, options);
    } catch (error) {
      throw shardUnavailableOr(error, operation);
    }
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
    return { endpoint, pool, store: new MysqlCellStore(pool, undefined, this.storeOptions) };
  }
}

/**
 * Errors that say the server is not (or no longer) the writable primary: fenced (read-only), shut
 * down, unreachable, or the connection was cut by a fence. They are the platform's moment, not the
 * caller's fault, and a retry with the same idempotency key is safe (it replays the original
 * result if the commit did land), so they leave the cell as a retryable `shard_unavailable`.
 */
const shardUnavailableErrnos: ReadonlySet<number> = new Set([
  1290, // ER_OPTION_PREVENTS_STATEMENT: read_only
  1053, // ER_SERVER_SHUTDOWN
  1927, // ER_CONNECTION_KILLED
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
]);
const shardUnavailableCodes: ReadonlySet<string> = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

export function shardUnavailableOr(error: unknown, operation: string): unknown {
  const { errno, code } = (error ?? {}) as { errno?: unknown; code?: unknown };
  const unavailable =
    (typeof errno === 'number' && shardUnavailableErrnos.has(errno)) ||
    (typeof code === 'string' && shardUnavailableCodes.has(code));
  if (!unavailable) return error;
  return new CellError(
    CellErrorCode.ShardUnavailable,
    `${operation}: the shard primary is not available for writes (${String(code ?? errno)}); retry`,
  );
}
