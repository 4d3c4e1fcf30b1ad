import { randomBytes } from 'node:crypto';

import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

import { cellOwnedSlot } from './slot-schema';

/** MariaDB's deadlock and lock-wait errors: the whole unit is retried, as the cells do. */
const retryableErrorCodes = ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'];
const transactionAttemptsMax = 5;

export async function rows(
  connection: PoolConnection,
  sql: string,
  values: unknown[] = [],
): Promise<RowDataPacket[]> {
  const [result] = await connection.query<RowDataPacket[]>(sql, values);
  return result;
}

export async function execute(
  connection: PoolConnection,
  sql: string,
  values: unknown[] = [],
): Promise<number> {
  const [result] = await connection.query<ResultSetHeader>(sql, values);
  return result.affectedRows;
}

/** Session settings of every migrator connection: explicit isolation and lock-wait bound. */
export async function prepareSession(
  connection: PoolConnection,
  lockWaitSeconds: number,
): Promise<void> {
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await connection.query('SET SESSION innodb_lock_wait_timeout = ?', [lockWaitSeconds]);
}

export async function withConnection<T>(
  pool: Pool,
  lockWaitSeconds: number,
  work: (connection: PoolConnection) => Promise<T>,
): Promise<T> {
  const connection = await pool.getConnection();
  try {
    await prepareSession(connection, lockWaitSeconds);
    return await work(connection);
  } finally {
    connection.release();
  }
}

/** One transaction, retried whole (at most 5 times) on a deadlock or lock-wait timeout. */
export async function inTransaction<T>(
  pool: Pool,
  lockWaitSeconds: number,
  work: (connection: PoolConnection) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await withConnection(pool, lockWaitSeconds, async (connection) => {
        await connection.beginTransaction();
        try {
          const result = await work(connection);
          await connection.commit();
          return result;
        } catch (error) {
          await connection.rollback();
          throw error;
        }
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= transactionAttemptsMax || !retryableErrorCodes.includes(code ?? '')) {
        throw error;
      }
    }
  }
}

/** A cell-style ID with a random unique part: `jnl_0017<24 hex>`. */
export function newId(prefix: 'acc' | 'jnl', slot: number): string {
  return `${prefix}_${slot.toString().padStart(4, '0')}${randomBytes(12).toString('hex')}`;
}

/**
 * The clearing account of `counterpartyCellId` in this shard, opened if missing exactly as a cell
 * opens it (kind `clearing`, owner = the counterparty cell, may go negative), and locked.
 */
export async function lockClearingAccount(
  connection: PoolConnection,
  counterpartyCellId: string,
  currency: string,
): Promise<string> {
  await connection.query(
    `INSERT IGNORE INTO accounts
       (id, kind, owner_id, currency, allow_negative, balance_minor, held_minor, created_at)
     VALUES (?, 'clearing', ?, ?, 1, 0, 0, UTC_TIMESTAMP(3))`,
    [newId('acc', cellOwnedSlot), counterpartyCellId, currency],
  );
  const found = await rows(
    connection,
    `SELECT id FROM accounts WHERE kind = 'clearing' AND owner_id = ? AND currency = ? FOR UPDATE`,
    [counterpartyCellId, currency],
  );
  const id = found[0]?.['id'];
  if (typeof id !== 'string') throw new Error(`clearing account for ${counterpartyCellId} missing`);
  return id;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    result.push(items.slice(start, start + size));
  }
  return result;
}

/** Signed effect of a journal line on a balance (credits minus debits). */
export function signedMinor(direction: unknown, amountMinor: unknown): bigint {
  const amount = BigInt(String(amountMinor));
  return direction === 'credit' ? amount : -amount;
}
