import type { PoolConnection } from 'mysql2/promise';

import {
  deleteIdempotencyRows,
  deleteMovedRows,
  keptPaymentsOf,
  tablesIn,
  type RowCounts,
  type SlotScope,
} from './slot-copier';
import { chunks, execute, lockClearingAccount, newId, rows } from './shard-connection';
import { slotOfId, slotPattern } from './slot-schema';

export interface CleanReport {
  /** Moving accounts whose balance was transferred out to the target's clearing account. */
  readonly accountsZeroed: number;
  readonly transferOutJournals: number;
  /** Per currency, what left the source for the target (decimal minor units). */
  readonly transferredOutMinor: Readonly<Record<string, string>>;
  /** Business records of the moving slots removed from the source (they live on the target). */
  readonly rowsRemoved: RowCounts;
}

/**
 * The source's side of a completed move, inside the transaction that holds the moving rows
 * locked (so it commits only after the flip). Posted journals are never touched: each moving
 * account with a balance gets one balanced `settlement` journal that moves the balance to the
 * source's clearing account of the target cell (the target holds the mirror amount on its
 * clearing account of the source, so the pair nets to zero), its held amount is released with the
 * hold rows, and the slot's business records (payments, refunds, transfers, holds, sagas,
 * idempotency records), which now live on the target, are removed. The accounts stay, at zero,
 * because the source's journals name them.
 */
export async function cleanSource(
  lock: PoolConnection,
  scope: SlotScope,
  migrationId: string,
): Promise<CleanReport> {
  const moving: { id: string; currency: string; balanceMinor: bigint }[] = [];
  for (const slot of scope.slots) {
    const found = await rows(
      lock,
      'SELECT id, currency, balance_minor FROM accounts WHERE id LIKE ? ORDER BY id',
      [slotPattern('acc', slot)],
    );
    moving.push(
      ...found.map((row) => ({
        id: String(row['id']),
        currency: String(row['currency']),
        balanceMinor: BigInt(String(row['balance_minor'])),
      })),
    );
  }
  const withBalance = moving.filter((account) => account.balanceMinor !== 0n);
  const clearing = new Map<string, { id: string; deltaMinor: bigint }>();
  for (const currency of [...new Set(withBalance.map((account) => account.currency))].sort()) {
    clearing.set(currency, {
      id: await lockClearingAccount(lock, scope.targetCellId, currency),
      deltaMinor: 0n,
    });
  }
  const now = new Date();
  for (const batch of chunks(withBalance, scope.limits.batchSizeMax)) {
    const journals: unknown[][] = [];
    const lines: unknown[][] = [];
    for (const account of batch) {
      const entry = clearing.get(account.currency);
      if (entry === undefined) throw new Error('clearing account not opened');
      const journalId = newId('jnl', slotOfId(account.id) ?? 0);
      const amount = account.balanceMinor > 0n ? account.balanceMinor : -account.balanceMinor;
      const [accountSide, clearingSide] =
        account.balanceMinor > 0n ? ['debit', 'credit'] : ['credit', 'debit'];
      journals.push([journalId, 'settlement', migrationId, null, now]);
      lines.push([journalId, 1, account.id, accountSide, amount.toString(), account.currency]);
      lines.push([journalId, 2, entry.id, clearingSide, amount.toString(), account.currency]);
      entry.deltaMinor += account.balanceMinor;
    }
    await execute(
      lock,
      'INSERT INTO journals (id, kind, reference_id, reverses_journal_id, created_at) VALUES ?',
      [journals],
    );
    await execute(
      lock,
      'INSERT INTO journal_lines (journal_id, line_number, account_id, direction, amount_minor, currency) VALUES ?',
      [lines],
    );
  }
  for (const slot of scope.slots) {
    await execute(lock, 'UPDATE accounts SET balance_minor = 0, held_minor = 0 WHERE id LIKE ?', [
      slotPattern('acc', slot),
    ]);
  }
  const transferredOutMinor: Record<string, string> = {};
  for (const [currency, entry] of clearing) {
    await execute(lock, 'UPDATE accounts SET balance_minor = balance_minor + ? WHERE id = ?', [
      entry.deltaMinor.toString(),
      entry.id,
    ]);
    transferredOutMinor[currency] = entry.deltaMinor.toString();
  }
  const kept = await keptPaymentsOf(lock, scope);
  const rowsRemoved: RowCounts = {};
  for (const spec of [...tablesIn(scope)].reverse()) {
    if (spec.table === 'accounts') continue;
    rowsRemoved[spec.table] = await deleteMovedRows(lock, scope, spec, kept);
  }
  rowsRemoved['idempotency_keys'] = await deleteIdempotencyRows(lock, scope, kept);
  return {
    accountsZeroed: withBalance.length,
    transferOutJournals: withBalance.length,
    transferredOutMinor,
    rowsRemoved,
  };
}
