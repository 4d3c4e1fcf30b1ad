import {
  type Account,
  type CellTransaction,
  CellError,
  CellErrorCode,
  type ClosedSubjectBalance,
  type Direction,
  type GeneralLedgerRepository,
  IdempotencyKeyTaken,
  type Journal,
  type SubjectDayBalance,
  type UnitOfWork,
  type UnitOfWorkOptions,
  type Voucher,
} from '@cellpay/cell-domain';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

import {
  accountOf,
  bigintOf,
  currencyOf,
  dateOf,
  holdOf,
  journalKindOf,
  optionalStringOf,
  paymentOf,
  refundOf,
  stringOf,
  transferOf,
} from './row-mapping';
import { type BatchSession, CommitBatcher, type CommitBatchingLimits } from './commit-batcher';
import { type CellTableSelector, type CellTableSet, tablesOfCurrentRequest } from './table-set';

export interface MysqlCellStoreOptions {
  /** Attempts of one unit of work when MySQL reports a deadlock or a lock-wait timeout. */
  readonly transactionAttemptsMax: number;
  /** Pause before retry n is n times this, so colliding transactions fall out of step. */
  readonly retryBackoffMs: number;
  /** How long a statement waits for a row lock before it gives up (and the unit is retried). */
  readonly lockWaitTimeoutSeconds: number;
  /**
   * Commit batching of the named write operations (see `CommitBatcher`); absent, every unit of
   * work is a transaction of its own.
   */
  readonly batching?: MysqlCommitBatching;
}

export interface MysqlCommitBatching extends CommitBatchingLimits {
  /**
   * The operations whose units of work may share a transaction: the hot, short, idempotent money
   * writes. Everything else (queries, idempotency look-ups, stored refusals, long batch jobs,
   * reconciliation snapshots) runs alone; `all` batches every unit (the contract tests).
   */
  readonly operations: ReadonlySet<string> | 'all';
}

/**
 * The operations batched by default when batching is on: the per-request money writes of the
 * payment and account services, each under an idempotency key. Cross-cell starts (outbox rows)
 * and the account opening are left out until they are measured and tested batched.
 */
export const batchedOperationsDefault: ReadonlySet<string> = new Set([
  'payment.pay',
  'payment.authorize',
  'payment.capture',
  'payment.void',
  'payment.refund',
  'account.top_up',
  'account.transfer',
  'account.place_hold',
  'account.capture_hold',
]);

/**
 * Small batches, several at once: a batch holds the row locks of all its units until its COMMIT,
 * so large batches make other batches wait on shared rows (merchant accounts). These values did
 * best in the bench (docs/benchmarks.md, commit batching).
 */
export const mysqlCommitBatchingDefault: MysqlCommitBatching = {
  operations: batchedOperationsDefault,
  batchSizeMax: 8,
  batchWaitMsMax: 0,
  batchesInFlightMax: 8,
  queuedUnitsMax: 1_000,
  singleUnitsBatched: false,
};

export const mysqlCellStoreOptionsDefault: MysqlCellStoreOptions = {
  transactionAttemptsMax: 5,
  retryBackoffMs: 5,
  lockWaitTimeoutSeconds: 5,
};

/** A bound value of a query: scalars, dates, and (nested) arrays for IN lists and bulk inserts. */
type QueryValue = string | number | Date | null | QueryValue[];

const errorDeadlock = 1213;
const errorLockWaitTimeout = 1205;
const errorDuplicateEntry = 1062;

/** The connection is lost or killed: its transaction is gone with it. */
const connectionLostErrnos: ReadonlySet<number> = new Set([
  1053, // ER_SERVER_SHUTDOWN
  1927, // ER_CONNECTION_KILLED
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
]);

/** The connection is gone or unusable (mysql2 marks socket-level failures `fatal`). */
function connectionLost(error: unknown): boolean {
  const { errno, fatal } = (error ?? {}) as { errno?: unknown; fatal?: unknown };
  return fatal === true || (typeof errno === 'number' && connectionLostErrnos.has(errno));
}

/**
 * Errors after which a batch transaction must not commit: the server rolled it back (deadlock),
 * the statement was rolled back while earlier ones of the unit stand (a lock-wait timeout), or
 * the connection is gone.
 */
function endsTransaction(error: unknown): boolean {
  const errno = mysqlErrno(error);
  return errno === errorDeadlock || errno === errorLockWaitTimeout || connectionLost(error);
}

function mysqlErrno(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/**
 * The MySQL adapter of the cell's ports on one shard. Each unit of work is one InnoDB transaction
 * (READ COMMITTED; row locks via SELECT ... FOR UPDATE in ascending ID order), retried as a whole
 * on deadlock or lock-wait timeout a bounded number of times. The table set is chosen when the
 * unit starts, from the request context by default: stress traffic lands in the shadow tables.
 */
export class MysqlCellStore implements UnitOfWork {
  private readonly preparedSessions = new WeakSet<object>();
  /** One batcher per table set: a batch never mixes live and shadow units. */
  private readonly batchers = new Map<string, CommitBatcher<CellTransaction>>();

  constructor(
    private readonly pool: Pool,
    private readonly selectTables: CellTableSelector = tablesOfCurrentRequest,
    private readonly options: MysqlCellStoreOptions = mysqlCellStoreOptionsDefault,
  ) {}

  async run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options: UnitOfWorkOptions = {},
  ): Promise<T> {
    const tables = this.selectTables();
    const batching = this.options.batching;
    if (
      batching !== undefined &&
      options.consistentSnapshot !== true &&
      (batching.operations === 'all' || batching.operations.has(operation))
    ) {
      return this.batcherOf(tables, batching).submit(operation, work);
    }
    return this.runWithRetries(operation, tables, work, options);
  }

  /** What the batchers did so far, all table sets together. */
  batchingStats(): CommitBatcher<CellTransaction>['stats'] {
    const total = {
      batchesCommitted: 0,
      unitsCommittedInBatches: 0,
      batchesAbandoned: 0,
      unitsRunAlone: 0,
    };
    for (const batcher of this.batchers.values()) {
      total.batchesCommitted += batcher.stats.batchesCommitted;
      total.unitsCommittedInBatches += batcher.stats.unitsCommittedInBatches;
      total.batchesAbandoned += batcher.stats.batchesAbandoned;
      total.unitsRunAlone += batcher.stats.unitsRunAlone;
    }
    return total;
  }

  private batcherOf(
    tables: CellTableSet,
    limits: CommitBatchingLimits,
  ): CommitBatcher<CellTransaction> {
    let batcher = this.batchers.get(tables.prefix);
    if (batcher === undefined) {
      batcher = new CommitBatcher<CellTransaction>(
        {
          begin: () => this.beginBatch(tables),
          runAlone: (operation, work) => this.runWithRetries(operation, tables, work, {}),
          endsTransaction,
        },
        limits,
      );
      this.batchers.set(tables.prefix, batcher);
    }
    return batcher;
  }

  /** A batch transaction on a connection of its own, in the session settings of every unit. */
  private async beginBatch(tables: CellTableSet): Promise<BatchSession<CellTransaction>> {
    const connection = await this.pool.getConnection();
    try {
      await this.prepareSession(connection);
      await connection.query('START TRANSACTION');
    } catch (error) {
      connection.destroy();
      throw error;
    }
    return {
      transaction: new MysqlTransaction(connection, tables).api(),
      savepoint: async (name) => {
        await connection.query(`SAVEPOINT ${name}`);
      },
      rollbackToSavepoint: async (name) => {
        await connection.query(`ROLLBACK TO SAVEPOINT ${name}`);
      },
      commit: async () => {
        await connection.query('COMMIT');
      },
      release: () => connection.release(),
      abandon: async (cause) => {
        if (connectionLost(cause)) {
          connection.destroy();
          return;
        }
        try {
          await connection.query('ROLLBACK');
          connection.release();
        } catch {
          connection.destroy();
        }
      },
    };
  }

  private async runWithRetries<T>(
    operation: string,
    tables: CellTableSet,
    work: (tx: CellTransaction) => Promise<T>,
    options: UnitOfWorkOptions,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runOnce(tables, work, options);
      } catch (error) {
        const errno = mysqlErrno(error);
        const retryable = errno === errorDeadlock || errno === errorLockWaitTimeout;
        if (!retryable) throw error;
        if (attempt >= this.options.transactionAttemptsMax) {
          throw new CellError(
            CellErrorCode.TransactionRetriesExhausted,
            `${operation} hit lock contention ${attempt} times (errno ${errno})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, attempt * this.options.retryBackoffMs));
      }
    }
  }

  /**
   * Session settings, once per physical connection rather than once per transaction (two round
   * trips saved on every unit of work). Keyed on the driver's connection, which outlives the
   * pool's per-checkout wrapper.
   */
  private async prepareSession(connection: PoolConnection): Promise<void> {
    const physical = connection.connection as object;
    if (this.preparedSessions.has(physical)) return;
    await connection.query('SET SESSION innodb_lock_wait_timeout = ?', [
      this.options.lockWaitTimeoutSeconds,
    ]);
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    this.preparedSessions.add(physical);
  }

  private async runOnce<T>(
    tables: CellTableSet,
    work: (tx: CellTransaction) => Promise<T>,
    options: UnitOfWorkOptions,
  ): Promise<T> {
    const connection = await this.pool.getConnection();
    let open = false;
    try {
      await this.prepareSession(connection);
      if (options.consistentSnapshot === true) {
        // Applies to the next transaction only; the session default stays READ COMMITTED.
        await connection.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      } else {
        await connection.query('START TRANSACTION');
      }
      open = true;
      const result = await work(new MysqlTransaction(connection, tables).api());
      await connection.query('COMMIT');
      open = false;
      return result;
    } catch (error) {
      if (open) await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }
}

class MysqlTransaction {
  constructor(
    private readonly connection: PoolConnection,
    private readonly t: CellTableSet,
  ) {}

  private async rows(sql: string, params: QueryValue[] = []): Promise<RowDataPacket[]> {
    const [rows] = await this.connection.query<RowDataPacket[]>(sql, params);
    return rows;
  }

  private async write(sql: string, params: QueryValue[]): Promise<ResultSetHeader> {
    const [result] = await this.connection.query<ResultSetHeader>(sql, params);
    return result;
  }

  private async journalsOf(headers: RowDataPacket[]): Promise<Journal[]> {
    if (headers.length === 0) return [];
    const ids = headers.map((row) => stringOf(row, 'id'));
    const lines = await this.rows(
      `SELECT journal_id, account_id, direction, amount_minor, currency FROM ${this.t.journalLines}
       WHERE journal_id IN (?) ORDER BY journal_id, line_number`,
      [ids],
    );
    const linesOf = new Map<string, Journal['lines'][number][]>();
    for (const line of lines) {
      const journalId = stringOf(line, 'journal_id');
      const list = linesOf.get(journalId) ?? [];
      list.push({
        accountId: stringOf(line, 'account_id'),
        direction: stringOf(line, 'direction') as Direction,
        amountMinor: bigintOf(line, 'amount_minor'),
        currency: currencyOf(line),
      });
      linesOf.set(journalId, list);
    }
    return headers.map((row) => {
      const id = stringOf(row, 'id');
      const reverses = optionalStringOf(row, 'reverses_journal_id');
      return {
        id,
        kind: journalKindOf(row),
        referenceId: stringOf(row, 'reference_id'),
        ...(reverses === undefined ? {} : { reversesJournalId: reverses }),
        createdAt: dateOf(row, 'created_at'),
        lines: linesOf.get(id) ?? [],
      };
    });
  }

  api(): CellTransaction {
    const t = this.t;
    const first = <T>(rows: RowDataPacket[], map: (row: RowDataPacket) => T): T | undefined => {
      const row = rows[0];
      return row === undefined ? undefined : map(row);
    };
    return {
      handle: {
        adapter: 'mysql',
        connection: this.connection,
        tablePrefix: t.prefix,
        shadow: t.prefix !== '',
      },
      accounts: {
        insert: async (a) => {
          await this.write(
            `INSERT INTO ${t.accounts} (id, kind, owner_id, currency, allow_negative, balance_minor, held_minor, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              a.id,
              a.kind,
              a.ownerId,
              a.currency,
              a.allowNegative ? 1 : 0,
              a.balanceMinor.toString(),
              a.heldMinor.toString(),
              a.createdAt,
            ],
          );
        },
        findById: async (id) =>
          first(await this.rows(`SELECT * FROM ${t.accounts} WHERE id = ?`, [id]), accountOf),
        findByKey: async (kind, ownerId, currency) =>
          first(
            await this.rows(
              `SELECT * FROM ${t.accounts} WHERE kind = ? AND owner_id = ? AND currency = ?`,
              [kind, ownerId, currency],
            ),
            accountOf,
          ),
        lockForUpdate: async (ids) => {
          const locked = new Map<string, Account>();
          if (ids.length === 0) return locked;
          // Ascending ID order: every transaction takes its row locks in the same order.
          const rows = await this.rows(
            `SELECT * FROM ${t.accounts} WHERE id IN (?) ORDER BY id FOR UPDATE`,
            [[...new Set(ids)].sort()],
          );
          for (const row of rows) {
            const account = accountOf(row);
            locked.set(account.id, account);
          }
          return locked;
        },
        updateBalance: async (a) => {
          const result = await this.write(
            `UPDATE ${t.accounts} SET balance_minor = ?, held_minor = ? WHERE id = ?`,
            [a.balanceMinor.toString(), a.heldMinor.toString(), a.id],
          );
          if (result.affectedRows !== 1) throw new Error(`no account ${a.id} to update`);
        },
        listAfter: async (afterId, limit) =>
          (
            await this.rows(`SELECT * FROM ${t.accounts} WHERE id > ? ORDER BY id LIMIT ?`, [
              afterId,
              limit,
            ])
          ).map(accountOf),
      },
      journals: {
        insert: async (journal) => {
          await this.write(
            `INSERT INTO ${t.journals} (id, kind, reference_id, reverses_journal_id, created_at) VALUES (?, ?, ?, ?, ?)`,
            [
              journal.id,
              journal.kind,
              journal.referenceId,
              journal.reversesJournalId ?? null,
              journal.createdAt,
            ],
          );
          await this.write(
            `INSERT INTO ${t.journalLines} (journal_id, line_number, account_id, direction, amount_minor, currency) VALUES ?`,
            [
              journal.lines.map((line, index) => [
                journal.id,
                index + 1,
                line.accountId,
                line.direction,
                line.amountMinor.toString(),
                line.currency,
              ]),
            ],
          );
        },
        findById: async (id) =>
          (
            await this.journalsOf(await this.rows(`SELECT * FROM ${t.journals} WHERE id = ?`, [id]))
          )[0],
        findByReference: async (referenceId) =>
          this.journalsOf(
            await this.rows(`SELECT * FROM ${t.journals} WHERE reference_id = ? ORDER BY id`, [
              referenceId,
            ]),
          ),
        listLinesOfAccount: async (accountId, beforeSequence, limit) => {
          const rows = await this.rows(
            `SELECT l.*, j.kind AS journal_kind, j.created_at FROM ${t.journalLines} l
             JOIN ${t.journals} j ON j.id = l.journal_id
             WHERE l.account_id = ? AND l.sequence < ? ORDER BY l.sequence DESC LIMIT ?`,
            [accountId, (beforeSequence ?? 9_223_372_036_854_775_807n).toString(), limit],
          );
          return rows.map((row) => ({
            sequence: bigintOf(row, 'sequence'),
            journalId: stringOf(row, 'journal_id'),
            lineNumber: Number(row['line_number']),
            accountId: stringOf(row, 'account_id'),
            direction: stringOf(row, 'direction') as Direction,
            amountMinor: bigintOf(row, 'amount_minor'),
            currency: currencyOf(row),
            createdAt: dateOf(row, 'created_at'),
            journalKind: stringOf(row, 'journal_kind'),
          }));
        },
        totalsForAccounts: async (accountIds) => {
          if (accountIds.length === 0) return [];
          const rows = await this.rows(
            `SELECT account_id,
                    CAST(COALESCE(SUM(CASE WHEN direction = 'debit' THEN amount_minor END), 0) AS SIGNED) AS debit_minor,
                    CAST(COALESCE(SUM(CASE WHEN direction = 'credit' THEN amount_minor END), 0) AS SIGNED) AS credit_minor
             FROM ${t.journalLines} WHERE account_id IN (?) GROUP BY account_id`,
            [[...accountIds]],
          );
          const byId = new Map(rows.map((row) => [stringOf(row, 'account_id'), row]));
          return accountIds.map((accountId) => {
            const row = byId.get(accountId);
            return {
              accountId,
              debitMinor: row === undefined ? 0n : bigintOf(row, 'debit_minor'),
              creditMinor: row === undefined ? 0n : bigintOf(row, 'credit_minor'),
            };
          });
        },
        listAfter: async (afterId, limit) =>
          this.journalsOf(
            await this.rows(`SELECT * FROM ${t.journals} WHERE id > ? ORDER BY id LIMIT ?`, [
              afterId,
              limit,
            ]),
          ),
      },
      payments: {
        insert: async (p) => {
          await this.write(
            `INSERT INTO ${t.payments} (id, merchant_id, out_trade_no, payer_account_id, payee_account_id, currency,
               amount_minor, captured_minor, refunded_minor, status, hold_id, authorization_expires_at,
               created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              p.id,
              p.merchantId,
              p.outTradeNo,
              p.payerAccountId,
              p.payeeAccountId,
              p.currency,
              p.amountMinor.toString(),
              p.capturedMinor.toString(),
              p.refundedMinor.toString(),
              p.status,
              p.holdId ?? null,
              p.authorizationExpiresAt ?? null,
              p.createdAt,
              p.updatedAt,
            ],
          );
        },
        findById: async (id) =>
          first(await this.rows(`SELECT * FROM ${t.payments} WHERE id = ?`, [id]), paymentOf),
        findByOutTradeNo: async (merchantId, outTradeNo) =>
          first(
            await this.rows(
              `SELECT * FROM ${t.payments} WHERE merchant_id = ? AND out_trade_no = ?`,
              [merchantId, outTradeNo],
            ),
            paymentOf,
          ),
        lockForUpdate: async (id) =>
          first(
            await this.rows(`SELECT * FROM ${t.payments} WHERE id = ? FOR UPDATE`, [id]),
            paymentOf,
          ),
        update: async (p) => {
          await this.write(
            `UPDATE ${t.payments} SET captured_minor = ?, refunded_minor = ?, status = ?, hold_id = ?, updated_at = ? WHERE id = ?`,
            [
              p.capturedMinor.toString(),
              p.refundedMinor.toString(),
              p.status,
              p.holdId ?? null,
              p.updatedAt,
              p.id,
            ],
          );
        },
        listAfter: async (afterId, limit) =>
          (
            await this.rows(`SELECT * FROM ${t.payments} WHERE id > ? ORDER BY id LIMIT ?`, [
              afterId,
              limit,
            ])
          ).map(paymentOf),
        listLapsedAuthorizations: async (now, limit) =>
          (
            await this.rows(
              `SELECT * FROM ${t.payments} WHERE status = 'authorized' AND authorization_expires_at <= ?
               ORDER BY authorization_expires_at, id LIMIT ?`,
              [now, limit],
            )
          ).map(paymentOf),
      },
      refunds: {
        insert: async (r) => {
          await this.write(
            `INSERT INTO ${t.refunds} (id, payment_id, merchant_id, out_refund_no, amount_minor, currency, journal_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              r.id,
              r.paymentId,
              r.merchantId,
              r.outRefundNo,
              r.amountMinor.toString(),
              r.currency,
              r.journalId,
              r.createdAt,
            ],
          );
        },
        findById: async (id) =>
          first(await this.rows(`SELECT * FROM ${t.refunds} WHERE id = ?`, [id]), refundOf),
        listByPayment: async (paymentId) =>
          (
            await this.rows(`SELECT * FROM ${t.refunds} WHERE payment_id = ? ORDER BY id`, [
              paymentId,
            ])
          ).map(refundOf),
        listAfter: async (afterId, limit) =>
          (
            await this.rows(`SELECT * FROM ${t.refunds} WHERE id > ? ORDER BY id LIMIT ?`, [
              afterId,
              limit,
            ])
          ).map(refundOf),
      },
      holds: {
        insert: async (h) => {
          await this.write(
            `INSERT INTO ${t.holds} (id, account_id, amount_minor, currency, captured_minor, status, expires_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              h.id,
              h.accountId,
              h.amountMinor.toString(),
              h.currency,
              h.capturedMinor.toString(),
              h.status,
              h.expiresAt,
              h.createdAt,
              h.updatedAt,
            ],
          );
        },
        findById: async (id) =>
          first(await this.rows(`SELECT * FROM ${t.holds} WHERE id = ?`, [id]), holdOf),
        lockForUpdate: async (id) =>
          first(await this.rows(`SELECT * FROM ${t.holds} WHERE id = ? FOR UPDATE`, [id]), holdOf),
        update: async (h) => {
          await this.write(
            `UPDATE ${t.holds} SET captured_minor = ?, status = ?, updated_at = ? WHERE id = ?`,
            [h.capturedMinor.toString(), h.status, h.updatedAt, h.id],
          );
        },
        listExpiredOpen: async (now, limit) =>
          (
            await this.rows(
              `SELECT * FROM ${t.holds} WHERE status = 'open' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
              [now, limit],
            )
          ).map(holdOf),
        openTotalsForAccounts: async (accountIds) => {
          const totals = new Map<string, bigint>();
          if (accountIds.length === 0) return totals;
          const rows = await this.rows(
            `SELECT account_id, CAST(SUM(amount_minor) AS SIGNED) AS held_minor FROM ${t.holds}
             WHERE status = 'open' AND account_id IN (?) GROUP BY account_id`,
            [[...accountIds]],
          );
          for (const row of rows)
            totals.set(stringOf(row, 'account_id'), bigintOf(row, 'held_minor'));
          return totals;
        },
      },
      transfers: {
        insert: async (x) => {
          await this.write(
            `INSERT INTO ${t.transfers} (id, kind, from_account_id, to_account_id, amount_minor, currency, journal_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              x.id,
              x.kind,
              x.fromAccountId,
              x.toAccountId,
              x.amountMinor.toString(),
              x.currency,
              x.journalId,
              x.createdAt,
            ],
          );
        },
        findById: async (id) =>
          first(await this.rows(`SELECT * FROM ${t.transfers} WHERE id = ?`, [id]), transferOf),
      },
      idempotency: {
        find: async (scope, key) =>
          first(
            await this.rows(`SELECT * FROM ${t.idempotencyKeys} WHERE scope = ? AND idem_key = ?`, [
              scope,
              key,
            ]),
            (row) => ({
              scope: stringOf(row, 'scope'),
              key: stringOf(row, 'idem_key'),
              requestHash: stringOf(row, 'request_hash'),
              responseJson: stringOf(row, 'response_json'),
            }),
          ),
        claim: async (record) => {
          try {
            await this.write(
              `INSERT INTO ${t.idempotencyKeys} (scope, idem_key, request_hash, response_json) VALUES (?, ?, ?, ?)`,
              [record.scope, record.key, record.requestHash, record.responseJson],
            );
          } catch (error) {
            if (mysqlErrno(error) === errorDuplicateEntry)
              throw new IdempotencyKeyTaken(record.scope, record.key);
            throw error;
          }
        },
        complete: async (scope, key, responseJson) => {
          const result = await this.write(
            `UPDATE ${t.idempotencyKeys} SET response_json = ? WHERE scope = ? AND idem_key = ?`,
            [responseJson, scope, key],
          );
          if (result.affectedRows !== 1)
            throw new Error(`idempotency key ${scope}/${key} was not claimed`);
        },
      },
      generalLedger: this.generalLedger(),
    };
  }

  private generalLedger(): GeneralLedgerRepository {
    const t = this.t;
    const dayBalanceOf = (row: RowDataPacket): SubjectDayBalance => ({
      businessDay: stringOf(row, 'business_day'),
      subjectCode: stringOf(row, 'subject_code'),
      currency: currencyOf(row),
      debitMinor: bigintOf(row, 'debit_minor'),
      creditMinor: bigintOf(row, 'credit_minor'),
    });
    return {
      insertVoucher: async (voucher) => {
        await this.write(
          `INSERT INTO ${t.glVouchers} (journal_id, business_day, posted_at) VALUES (?, ?, ?)`,
          [voucher.journalId, voucher.businessDay, voucher.postedAt],
        );
        await this.write(
          `INSERT INTO ${t.glVoucherLines} (journal_id, line_number, business_day, subject_code, direction, amount_minor, currency) VALUES ?`,
          [
            voucher.lines.map((line, index) => [
              voucher.journalId,
              index + 1,
              voucher.businessDay,
              line.subjectCode,
              line.direction,
              line.amountMinor.toString(),
              line.currency,
            ]),
          ],
        );
      },
      findVouchers: async (journalIds) => {
        const found = new Map<string, Voucher>();
        if (journalIds.length === 0) return found;
        const headers = await this.rows(`SELECT * FROM ${t.glVouchers} WHERE journal_id IN (?)`, [
          [...journalIds],
        ]);
        const lines = await this.rows(
          `SELECT * FROM ${t.glVoucherLines} WHERE journal_id IN (?) ORDER BY journal_id, line_number`,
          [[...journalIds]],
        );
        for (const row of headers) {
          const journalId = stringOf(row, 'journal_id');
          found.set(journalId, {
            journalId,
            businessDay: stringOf(row, 'business_day'),
            postedAt: dateOf(row, 'posted_at'),
            lines: lines
              .filter((line) => stringOf(line, 'journal_id') === journalId)
              .map((line) => ({
                subjectCode: stringOf(line, 'subject_code'),
                direction: stringOf(line, 'direction') as Direction,
                amountMinor: bigintOf(line, 'amount_minor'),
                currency: currencyOf(line),
              })),
          });
        }
        return found;
      },
      listUnpostedJournals: async (limit) =>
        this.journalsOf(
          await this.rows(
            `SELECT j.* FROM ${t.journals} j LEFT JOIN ${t.glVouchers} v ON v.journal_id = j.id
             WHERE v.journal_id IS NULL ORDER BY j.id LIMIT ?`,
            [limit],
          ),
        ),
      countUnpostedJournals: async () => {
        const rows = await this.rows(
          `SELECT COUNT(*) AS backlog FROM ${t.journals} j LEFT JOIN ${t.glVouchers} v ON v.journal_id = j.id WHERE v.journal_id IS NULL`,
        );
        return Number(rows[0]?.['backlog'] ?? 0);
      },
      totalsOfDay: async (businessDay) =>
        (
          await this.rows(
            `SELECT business_day, subject_code, currency,
                    CAST(COALESCE(SUM(CASE WHEN direction = 'debit' THEN amount_minor END), 0) AS SIGNED) AS debit_minor,
                    CAST(COALESCE(SUM(CASE WHEN direction = 'credit' THEN amount_minor END), 0) AS SIGNED) AS credit_minor
             FROM ${t.glVoucherLines} WHERE business_day = ?
             GROUP BY business_day, subject_code, currency ORDER BY subject_code, currency`,
            [businessDay],
          )
        ).map(dayBalanceOf),
      saveDayClose: async (businessDay, balances) => {
        // The marker row's primary key refuses a second close of the same day.
        await this.write(`INSERT INTO ${t.glClosedDays} (business_day) VALUES (?)`, [businessDay]);
        if (balances.length === 0) return;
        await this.write(
          `INSERT INTO ${t.glDayCloses} (business_day, subject_code, currency, debit_minor, credit_minor, closing_minor) VALUES ?`,
          [
            balances.map((b) => [
              businessDay,
              b.subjectCode,
              b.currency,
              b.debitMinor.toString(),
              b.creditMinor.toString(),
              b.closingMinor.toString(),
            ]),
          ],
        );
      },
      findDayClose: async (businessDay) => {
        const closed = await this.rows(
          `SELECT business_day FROM ${t.glClosedDays} WHERE business_day = ?`,
          [businessDay],
        );
        if (closed.length === 0) return undefined;
        const rows = await this.rows(
          `SELECT * FROM ${t.glDayCloses} WHERE business_day = ? ORDER BY subject_code, currency`,
          [businessDay],
        );
        return rows.map((row): ClosedSubjectBalance => ({
          ...dayBalanceOf(row),
          closingMinor: bigintOf(row, 'closing_minor'),
        }));
      },
      latestClosedDay: async () => {
        const rows = await this.rows(`SELECT MAX(business_day) AS day FROM ${t.glClosedDays}`);
        return optionalStringOf(rows[0] ?? ({} as RowDataPacket), 'day');
      },
    };
  }
}
