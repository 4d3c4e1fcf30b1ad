import type { PoolConnection } from 'mysql2/promise';

import {
  idempotencyRowsOf,
  journalIdsTouching,
  slotRows,
  keptPaymentsOf,
  tablesIn,
  type SlotScope,
} from './slot-copier';
import { rows } from './shard-connection';
import { rowFingerprint, setChecksum, slotPattern } from './slot-schema';

/** One side's view of the moving slots: what verification compares. */
interface SideState {
  readonly tables: Map<string, Map<string, string>>;
  readonly journalIds: Set<string>;
  /** Per moving account: line count, net (credits - debits) and an order-free line checksum. */
  readonly accountLines: Map<string, string>;
  /** Per moving account: the balance column and the net of its lines, which must agree. */
  readonly balances: Map<
    string,
    { readonly currency: string; readonly balanceMinor: bigint; readonly heldMinor: bigint }
  >;
  readonly netOfLines: Map<string, bigint>;
}

export interface TableFigures {
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly sourceChecksum: string;
  readonly targetChecksum: string;
}

export interface VerificationReport {
  readonly ok: boolean;
  readonly tables: Readonly<Record<string, TableFigures>>;
  readonly accountsChecked: number;
  /** Sum of moving balances per currency on each side, in minor units (decimal strings). */
  readonly balanceSums: Readonly<
    Record<string, { readonly source: string; readonly target: string }>
  >;
  readonly heldSums: Readonly<Record<string, { readonly source: string; readonly target: string }>>;
  readonly mismatchCount: number;
  /** The first `mismatchesListedMax` differences, each naming the table or account. */
  readonly mismatches: readonly string[];
}

async function readSide(
  connection: PoolConnection,
  scope: SlotScope,
  kept: ReadonlySet<string>,
): Promise<SideState> {
  const tables = new Map<string, Map<string, string>>();
  for (const spec of tablesIn(scope)) {
    const fingerprints = new Map<string, string>();
    for await (const page of slotRows(connection, scope, spec, kept)) {
      for (const row of page) fingerprints.set(String(row[spec.key]), rowFingerprint(row));
    }
    tables.set(spec.table, fingerprints);
  }
  const idempotency = new Map<string, string>();
  for await (const page of idempotencyRowsOf(connection, scope, kept)) {
    for (const entry of page) idempotency.set(`${entry.scope}|${entry.key}`, entry.fingerprint);
  }
  tables.set('idempotency_keys', idempotency);
  const accountLines = new Map<string, string>();
  const netOfLines = new Map<string, bigint>();
  const balances = new Map<string, { currency: string; balanceMinor: bigint; heldMinor: bigint }>();
  for (const slot of scope.slots) {
    const grouped = await rows(
      connection,
      `SELECT account_id, COUNT(*) AS line_count,
              SUM(IF(direction = 'credit', amount_minor, -amount_minor)) AS net_minor,
              BIT_XOR(CRC32(CONCAT_WS('|', journal_id, line_number, direction, amount_minor, currency))) AS line_checksum
         FROM journal_lines WHERE account_id LIKE ? GROUP BY account_id`,
      [slotPattern('acc', slot)],
    );
    for (const row of grouped) {
      const id = String(row['account_id']);
      accountLines.set(id, `${row['line_count']}/${row['net_minor']}/${row['line_checksum']}`);
      netOfLines.set(id, BigInt(String(row['net_minor'])));
    }
    const accounts = await rows(
      connection,
      'SELECT id, currency, balance_minor, held_minor FROM accounts WHERE id LIKE ?',
      [slotPattern('acc', slot)],
    );
    for (const row of accounts) {
      balances.set(String(row['id']), {
        currency: String(row['currency']),
        balanceMinor: BigInt(String(row['balance_minor'])),
        heldMinor: BigInt(String(row['held_minor'])),
      });
    }
  }
  return {
    tables,
    journalIds: await journalIdsTouching(connection, scope),
    accountLines,
    balances,
    netOfLines,
  };
}

/**
 * Compares the moving slots on both shards: per table row counts and checksums, the journal set,
 * per account a checksum of its lines and its balance (which must also equal the net of its lines
 * on each side), and the balance and held sums per currency.
 */
export async function verifySlots(
  source: PoolConnection,
  target: PoolConnection,
  scope: SlotScope,
): Promise<VerificationReport> {
  // Payments that stay on the source (and what follows them) are not part of the comparison.
  const kept = await keptPaymentsOf(source, scope);
  const sourceSide = await readSide(source, scope, kept);
  const targetSide = await readSide(target, scope, kept);
  const mismatches: string[] = [];
  let mismatchCount = 0;
  const mismatch = (text: string) => {
    mismatchCount += 1;
    if (mismatches.length < scope.limits.mismatchesListedMax) mismatches.push(text);
  };
  const tables: Record<string, TableFigures> = {};
  for (const [table, sourceRows] of sourceSide.tables) {
    const targetRows = targetSide.tables.get(table) ?? new Map<string, string>();
    tables[table] = {
      sourceRows: sourceRows.size,
      targetRows: targetRows.size,
      sourceChecksum: setChecksum([...sourceRows.values()]),
      targetChecksum: setChecksum([...targetRows.values()]),
    };
    for (const [key, fingerprint] of sourceRows) {
      if (targetRows.get(key) !== fingerprint)
        mismatch(`${table} ${key}: differs or missing on the target`);
    }
    for (const key of targetRows.keys()) {
      if (!sourceRows.has(key)) mismatch(`${table} ${key}: on the target only`);
    }
  }
  tables['journals'] = {
    sourceRows: sourceSide.journalIds.size,
    targetRows: targetSide.journalIds.size,
    sourceChecksum: setChecksum([...sourceSide.journalIds]),
    targetChecksum: setChecksum([...targetSide.journalIds]),
  };
  for (const id of sourceSide.journalIds) {
    if (!targetSide.journalIds.has(id)) mismatch(`journal ${id}: missing on the target`);
  }
  for (const id of targetSide.journalIds) {
    if (!sourceSide.journalIds.has(id)) mismatch(`journal ${id}: on the target only`);
  }
  for (const [accountId, checksum] of sourceSide.accountLines) {
    if (targetSide.accountLines.get(accountId) !== checksum) {
      mismatch(
        `account ${accountId}: journal lines differ (${checksum} vs ${targetSide.accountLines.get(accountId) ?? 'none'})`,
      );
    }
  }
  const balanceSums: Record<string, { source: string; target: string }> = {};
  const heldSums: Record<string, { source: string; target: string }> = {};
  const sums = (side: SideState, pick: 'balanceMinor' | 'heldMinor') => {
    const result = new Map<string, bigint>();
    for (const account of side.balances.values()) {
      result.set(account.currency, (result.get(account.currency) ?? 0n) + account[pick]);
    }
    return result;
  };
  for (const [pick, into] of [
    ['balanceMinor', balanceSums],
    ['heldMinor', heldSums],
  ] as const) {
    const [sourceSums, targetSums] = [sums(sourceSide, pick), sums(targetSide, pick)];
    for (const currency of new Set([...sourceSums.keys(), ...targetSums.keys()])) {
      const figures = {
        source: (sourceSums.get(currency) ?? 0n).toString(),
        target: (targetSums.get(currency) ?? 0n).toString(),
      };
      into[currency] = figures;
      if (figures.source !== figures.target)
        mismatch(`${pick} sum ${currency}: ${figures.source} vs ${figures.target}`);
    }
  }
  for (const [name, side] of [
    ['source', sourceSide],
    ['target', targetSide],
  ] as const) {
    for (const [accountId, account] of side.balances) {
      const net = side.netOfLines.get(accountId) ?? 0n;
      if (net !== account.balanceMinor) {
        mismatch(
          `account ${accountId} on the ${name}: balance ${account.balanceMinor} but its lines net ${net}`,
        );
      }
    }
  }
  return {
    ok: mismatchCount === 0,
    tables,
    accountsChecked: sourceSide.balances.size,
    balanceSums,
    heldSums,
    mismatchCount,
    mismatches,
  };
}
