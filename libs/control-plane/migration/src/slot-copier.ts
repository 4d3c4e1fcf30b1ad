import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import type { MigrationLimits } from './migration-limits';
import {
  chunks,
  execute,
  inTransaction,
  lockClearingAccount,
  rows,
  signedMinor,
} from './shard-connection';
import {
  journalLineColumns,
  rowFingerprint,
  slotKeyedTables,
  slotOfId,
  resourceOfIdempotentResponse,
  slotPattern,
  type SlotKeyedTable,
} from './slot-schema';

/** Rows written per table in one pass (journals count journals; their lines are extra). */
export type RowCounts = Record<string, number>;

export function totalOf(counts: RowCounts): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

export interface SlotScope {
  readonly slots: readonly number[];
  readonly sourceCellId: string;
  readonly targetCellId: string;
  /** Whether settlement's tables exist in both shards (they are optional). */
  readonly settlementTables: boolean;
  readonly limits: MigrationLimits;
}

export function tablesIn(scope: SlotScope): readonly SlotKeyedTable[] {
  return slotKeyedTables.filter((spec) => !spec.optional || scope.settlementTables);
}

export function isMovingAccount(scope: SlotScope, accountId: string): boolean {
  const slot = slotOfId(accountId);
  return accountId.startsWith('acc_') && slot !== undefined && scope.slots.includes(slot);
}

/**
 * Payments of the moving slots that stay on the source: those whose payee does not move (a
 * merchant who stays, or a clearing account of a cross-cell payment). On the target such a
 * payment would name an account that is not there, and a refund of it on the target would have
 * no merchant to debit; on the source it stays whole with its merchant. Their refunds, sagas and
 * idempotency records stay with them.
 */
export async function keptPaymentsOf(
  connection: PoolConnection,
  scope: SlotScope,
): Promise<ReadonlySet<string>> {
  const kept = new Set<string>();
  const payments = slotKeyedTables.find((spec) => spec.table === 'payments');
  if (payments === undefined) return kept;
  for await (const page of slotRows(connection, scope, payments)) {
    for (const row of page) {
      const moves =
        isMovingAccount(scope, String(row['payer_account_id'])) &&
        isMovingAccount(scope, String(row['payee_account_id']));
      if (!moves) kept.add(String(row['id']));
    }
  }
  return kept;
}

/** The column that ties a row to a payment, for the tables whose rows follow their payment. */
const paymentColumnOf: Readonly<Record<string, string>> = {
  payments: 'id',
  refunds: 'payment_id',
  settlement_sagas: 'saga_id',
};

/** Pages of one slot's rows of one table, in key order. */
export async function* slotRows(
  connection: PoolConnection,
  scope: SlotScope,
  spec: SlotKeyedTable,
  kept: ReadonlySet<string> = new Set(),
): AsyncGenerator<RowDataPacket[]> {
  const paymentColumn = paymentColumnOf[spec.table];
  for (const prefix of spec.prefixes) {
    for (const slot of [...scope.slots].sort((a, b) => a - b)) {
      let after = '';
      for (;;) {
        const page = await rows(
          connection,
          `SELECT * FROM ${spec.table} WHERE ${spec.key} LIKE ? AND ${spec.key} > ?
            ORDER BY ${spec.key} LIMIT ?`,
          [slotPattern(prefix, slot), after, scope.limits.batchSizeMax],
        );
        if (page.length === 0) break;
        const moving =
          paymentColumn === undefined
            ? page
            : page.filter((row) => !kept.has(String(row[paymentColumn])));
        if (moving.length > 0) yield moving;
        after = String(page[page.length - 1]?.[spec.key]);
        if (page.length < scope.limits.batchSizeMax) break;
      }
    }
  }
}

/** The IDs of every journal with a line on a moving account. */
export async function journalIdsTouching(
  connection: PoolConnection,
  scope: SlotScope,
): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const slot of scope.slots) {
    const found = await rows(
      connection,
      'SELECT DISTINCT journal_id FROM journal_lines WHERE account_id LIKE ?',
      [slotPattern('acc', slot)],
    );
    for (const row of found) ids.add(String(row['journal_id']));
    if (ids.size > scope.limits.journalsMax) {
      throw new Error(
        `more than ${scope.limits.journalsMax} journals touch the moving accounts (journalsMax)`,
      );
    }
  }
  return ids;
}

export interface IdempotencyRow {
  readonly scope: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly row: RowDataPacket;
}

/** Idempotency records of the moving slots: a full scan in key order (they carry no slot). */
export async function* idempotencyRowsOf(
  connection: PoolConnection,
  scope: SlotScope,
  kept: ReadonlySet<string> = new Set(),
): AsyncGenerator<IdempotencyRow[]> {
  let after: [string, string] = ['', ''];
  for (;;) {
    const page = await rows(
      connection,
      `SELECT * FROM idempotency_keys WHERE (scope, idem_key) > (?, ?)
        ORDER BY scope, idem_key LIMIT ?`,
      [after[0], after[1], scope.limits.batchSizeMax],
    );
    if (page.length === 0) return;
    const last = page[page.length - 1];
    after = [String(last?.['scope']), String(last?.['idem_key'])];
    const moving = page.filter((row) => {
      const resourceId = resourceOfIdempotentResponse(String(row['response_json']));
      const slot = resourceId === undefined ? undefined : slotOfId(resourceId);
      return (
        resourceId !== undefined &&
        slot !== undefined &&
        scope.slots.includes(slot) &&
        !kept.has(resourceId)
      );
    });
    if (moving.length > 0) {
      yield moving.map((row) => ({
        scope: String(row['scope']),
        key: String(row['idem_key']),
        fingerprint: rowFingerprint(row),
        row,
      }));
    }
    if (page.length < scope.limits.batchSizeMax) return;
  }
}

/**
 * Copies the moving slots' rows from the source to the target: one pass, idempotent, writing only
 * what differs. The source is read through `source` (a consistent snapshot during the catch-up
 * rounds, the locking transaction in the final round), so the accounts written at the end of a
 * pass agree with the journals copied in it.
 */
export class SlotCopier {
  constructor(
    private readonly target: Pool,
    private readonly scope: SlotScope,
  ) {}

  async copyPass(source: PoolConnection): Promise<RowCounts> {
    const counts: RowCounts = {};
    const kept = await keptPaymentsOf(source, this.scope);
    counts['journals'] = await this.copyJournals(source);
    for (const spec of tablesIn(this.scope)) {
      counts[spec.table] = await this.copyKeyedTable(source, spec, kept);
    }
    counts['idempotency_keys'] = await this.copyIdempotency(source, kept);
    return counts;
  }

  private async copyKeyedTable(
    source: PoolConnection,
    spec: SlotKeyedTable,
    kept: ReadonlySet<string>,
  ): Promise<number> {
    let written = 0;
    for await (const page of slotRows(source, this.scope, spec, kept)) {
      written += await inTransaction(this.target, this.scope.limits.lockWaitSeconds, async (tx) => {
        const existing = await rows(tx, `SELECT * FROM ${spec.table} WHERE ${spec.key} IN (?)`, [
          page.map((row) => row[spec.key]),
        ]);
        const known = new Map(existing.map((row) => [String(row[spec.key]), rowFingerprint(row)]));
        const changed = page.filter(
          (row) => known.get(String(row[spec.key])) !== rowFingerprint(row),
        );
        const first = changed[0];
        if (first === undefined) return 0;
        const columns = Object.keys(first);
        await execute(
          tx,
          `INSERT INTO ${spec.table} (${columns.join(', ')}) VALUES ?
           ON DUPLICATE KEY UPDATE ${columns.map((c) => `${c} = VALUES(${c})`).join(', ')}`,
          [changed.map((row) => columns.map((column) => row[column]))],
        );
        return changed.length;
      });
    }
    return written;
  }

  /**
   * Journals are append-only, so the delta is the set difference of journal IDs. A journal is
   * copied whole with its ID and line numbers; a line on an account that does not move (the other
   * side of a payment, a top-up's funding account) is written against the target's clearing
   * account of the source cell instead, and that clearing balance moves by the line in the same
   * transaction: from the target's books, the counterparty of that history is the source cell.
   */
  private async copyJournals(source: PoolConnection): Promise<number> {
    const sourceIds = await journalIdsTouching(source, this.scope);
    const targetIds = await withTarget(this.target, (tx) => journalIdsTouching(tx, this.scope));
    const missing = [...sourceIds].filter((id) => !targetIds.has(id)).sort();
    for (const batch of chunks(missing, this.scope.limits.batchSizeMax)) {
      const journals = await rows(source, 'SELECT * FROM journals WHERE id IN (?)', [batch]);
      const lines = await rows(
        source,
        `SELECT ${journalLineColumns.join(', ')} FROM journal_lines WHERE journal_id IN (?)
          ORDER BY journal_id, line_number`,
        [batch],
      );
      await inTransaction(this.target, this.scope.limits.lockWaitSeconds, async (tx) => {
        const clearing = new Map<string, { id: string; deltaMinor: bigint }>();
        const currencies = [
          ...new Set(
            lines
              .filter((line) => !isMovingAccount(this.scope, String(line['account_id'])))
              .map((line) => String(line['currency'])),
          ),
        ].sort();
        for (const currency of currencies) {
          const id = await lockClearingAccount(tx, this.scope.sourceCellId, currency);
          clearing.set(currency, { id, deltaMinor: 0n });
        }
        const translated = lines.map((line) => {
          const accountId = String(line['account_id']);
          if (isMovingAccount(this.scope, accountId)) return journalLineColumns.map((c) => line[c]);
          const entry = clearing.get(String(line['currency']));
          if (entry === undefined) throw new Error('clearing account not opened');
          entry.deltaMinor += signedMinor(line['direction'], line['amount_minor']);
          return journalLineColumns.map((c) => (c === 'account_id' ? entry.id : line[c]));
        });
        const first = journals[0];
        if (first === undefined) return;
        const columns = Object.keys(first);
        await execute(tx, `INSERT INTO journals (${columns.join(', ')}) VALUES ?`, [
          journals.map((journal) => columns.map((column) => journal[column])),
        ]);
        await execute(tx, `INSERT INTO journal_lines (${journalLineColumns.join(', ')}) VALUES ?`, [
          translated,
        ]);
        for (const entry of clearing.values()) {
          await execute(tx, 'UPDATE accounts SET balance_minor = balance_minor + ? WHERE id = ?', [
            entry.deltaMinor.toString(),
            entry.id,
          ]);
        }
      });
    }
    return missing.length;
  }

  /** Idempotency records are written once and never change: copy the missing ones. */
  private async copyIdempotency(
    source: PoolConnection,
    kept: ReadonlySet<string>,
  ): Promise<number> {
    let written = 0;
    for await (const page of idempotencyRowsOf(source, this.scope, kept)) {
      const first = page[0]?.row;
      if (first === undefined) continue;
      const columns = Object.keys(first);
      written += await inTransaction(this.target, this.scope.limits.lockWaitSeconds, (tx) =>
        execute(tx, `INSERT IGNORE INTO idempotency_keys (${columns.join(', ')}) VALUES ?`, [
          page.map((entry) => columns.map((column) => entry.row[column])),
        ]),
      );
    }
    return written;
  }

  /**
   * Abort: removes the partial copy from the target. The target never served these slots, so
   * nothing here was ever acknowledged by it; the clearing account gives back exactly what the
   * copied lines moved, in the same transaction as their removal.
   */
  async dropCopy(): Promise<RowCounts> {
    const counts: RowCounts = {};
    const journalIds = [
      ...(await withTarget(this.target, (tx) => journalIdsTouching(tx, this.scope))),
    ].sort();
    let journalsDropped = 0;
    for (const batch of chunks(journalIds, this.scope.limits.batchSizeMax)) {
      journalsDropped += await inTransaction(
        this.target,
        this.scope.limits.lockWaitSeconds,
        async (tx) => {
          const lines = await rows(
            tx,
            'SELECT account_id, direction, amount_minor FROM journal_lines WHERE journal_id IN (?)',
            [batch],
          );
          const deltas = new Map<string, bigint>();
          for (const line of lines) {
            const accountId = String(line['account_id']);
            if (isMovingAccount(this.scope, accountId)) continue;
            const delta = signedMinor(line['direction'], line['amount_minor']);
            deltas.set(accountId, (deltas.get(accountId) ?? 0n) - delta);
          }
          for (const [accountId, delta] of [...deltas].sort(([a], [b]) => (a < b ? -1 : 1))) {
            await execute(
              tx,
              'UPDATE accounts SET balance_minor = balance_minor + ? WHERE id = ?',
              [delta.toString(), accountId],
            );
          }
          await execute(tx, 'DELETE FROM gl_voucher_lines WHERE journal_id IN (?)', [batch]);
          await execute(tx, 'DELETE FROM gl_vouchers WHERE journal_id IN (?)', [batch]);
          await execute(tx, 'DELETE FROM journal_lines WHERE journal_id IN (?)', [batch]);
          return execute(tx, 'DELETE FROM journals WHERE id IN (?)', [batch]);
        },
      );
    }
    counts['journals'] = journalsDropped;
    for (const spec of [...tablesIn(this.scope)].reverse()) {
      counts[spec.table] = await deleteSlotRows(this.target, this.scope, spec);
    }
    counts['idempotency_keys'] = await deleteIdempotencyRows(this.target, this.scope);
    return counts;
  }
}

export function withTarget<T>(
  pool: Pool,
  work: (connection: PoolConnection) => Promise<T>,
): Promise<T> {
  return pool.getConnection().then(async (connection) => {
    try {
      return await work(connection);
    } finally {
      connection.release();
    }
  });
}

/** Deletes one table's rows of the moving slots, a bounded batch per statement. */
export async function deleteSlotRows(
  pool: Pool | PoolConnection,
  scope: SlotScope,
  spec: SlotKeyedTable,
): Promise<number> {
  let deleted = 0;
  for (const prefix of spec.prefixes) {
    for (const slot of scope.slots) {
      for (;;) {
        const [result] = await pool.query<import('mysql2/promise').ResultSetHeader>(
          `DELETE FROM ${spec.table} WHERE ${spec.key} LIKE ? ORDER BY ${spec.key} LIMIT ?`,
          [slotPattern(prefix, slot), scope.limits.batchSizeMax],
        );
        deleted += result.affectedRows;
        if (result.affectedRows < scope.limits.batchSizeMax) break;
      }
    }
  }
  return deleted;
}

/** Deletes exactly the rows that moved (the kept payments and what follows them stay). */
export async function deleteMovedRows(
  connection: PoolConnection,
  scope: SlotScope,
  spec: SlotKeyedTable,
  kept: ReadonlySet<string>,
): Promise<number> {
  const keys: string[] = [];
  for await (const page of slotRows(connection, scope, spec, kept)) {
    keys.push(...page.map((row) => String(row[spec.key])));
  }
  let deleted = 0;
  for (const batch of chunks(keys, scope.limits.batchSizeMax)) {
    deleted += await execute(connection, `DELETE FROM ${spec.table} WHERE ${spec.key} IN (?)`, [
      batch,
    ]);
  }
  return deleted;
}

/** Deletes the idempotency records of the moving slots (found by their stored responses). */
export async function deleteIdempotencyRows(
  pool: Pool | PoolConnection,
  scope: SlotScope,
  kept: ReadonlySet<string> = new Set(),
): Promise<number> {
  const keys: [string, string][] = [];
  const connection = 'release' in pool ? pool : await pool.getConnection();
  try {
    for await (const page of idempotencyRowsOf(connection, scope, kept)) {
      keys.push(...page.map((entry): [string, string] => [entry.scope, entry.key]));
    }
  } finally {
    if (connection !== pool) connection.release();
  }
  let deleted = 0;
  for (const batch of chunks(keys, scope.limits.batchSizeMax)) {
    const [result] = await pool.query<import('mysql2/promise').ResultSetHeader>(
      'DELETE FROM idempotency_keys WHERE (scope, idem_key) IN (?)',
      [batch],
    );
    deleted += result.affectedRows;
  }
  return deleted;
}
