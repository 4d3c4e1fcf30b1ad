import { createHash } from 'node:crypto';

/**
 * What this tool knows of a cell shard's schema (libs/cell/data-access migrations 1-2 and
 * libs/settlement/cell settlement migration 1). The control plane may not import cell code, so the
 * knowledge is written down here, at the SQL level, and the docs list it (docs/operations.md).
 *
 * Every ID a cell hands out embeds the owning slot as four digits after its prefix
 * (`acc_0017...`), so the rows of a slot are one primary-key range per table.
 */
export interface SlotKeyedTable {
  readonly table: string;
  readonly key: string;
  /** The ID prefixes that name this table's rows (`pay_0017...`). */
  readonly prefixes: readonly string[];
  /** Settlement's tables exist only in shards that ran settlement's migrations. */
  readonly optional: boolean;
}

/** Accounts first: journal lines and business records name them. */
export const slotKeyedTables: readonly SlotKeyedTable[] = [
  { table: 'accounts', key: 'id', prefixes: ['acc'], optional: false },
  { table: 'payments', key: 'id', prefixes: ['pay'], optional: false },
  { table: 'refunds', key: 'id', prefixes: ['rfd'], optional: false },
  { table: 'transfers', key: 'id', prefixes: ['trf'], optional: false },
  { table: 'holds', key: 'id', prefixes: ['hld'], optional: false },
  { table: 'settlement_sagas', key: 'saga_id', prefixes: ['pay', 'trf', 'rfd'], optional: true },
];

/** Tables whose rows change after insert: payments, holds and sagas move through states. */
export const lockedBeforeAccounts = ['payments', 'holds'] as const;

/** Journal lines are copied without their shard-local auto-increment `sequence`. */
export const journalLineColumns = [
  'journal_id',
  'line_number',
  'account_id',
  'direction',
  'amount_minor',
  'currency',
] as const;

export const slotDigits = 4;

export function slotText(slot: number): string {
  return slot.toString().padStart(slotDigits, '0');
}

/** A LIKE pattern for the IDs of one prefix and slot (`acc\_0017%`): one primary-key range. */
export function slotPattern(prefix: string, slot: number): string {
  return `${prefix}\\_${slotText(slot)}%`;
}

const idPattern = /^(acc|pay|rfd|trf|hld|jnl)_(\d{4})[0-9A-Za-z]{8,32}$/;

/** The slot an ID embeds, or undefined for anything that is not a cell ID. */
export function slotOfId(id: string): number | undefined {
  const match = idPattern.exec(id);
  return match === null ? undefined : Number(match[2]);
}

/**
 * Fields of a stored idempotent response that name the resource it belongs to, in order. A
 * top-up's transfer carries the funding account's reserved slot, so its record belongs to the
 * account it credited (`toAccountId`).
 */
const idempotentResourceFields = [
  'paymentId',
  'refundId',
  'transferId',
  'holdId',
  'accountId',
  'fromAccountId',
  'toAccountId',
] as const;

/** The reserved slot of accounts and records that belong to a cell itself. */
export const cellOwnedSlot = 9999;

/**
 * Idempotency records carry no slot of their own; the stored response names the resource the
 * request created or changed, and that resource's ID carries the slot.
 */
export function slotOfIdempotentResponse(responseJson: string): number | undefined {
  const resourceId = resourceOfIdempotentResponse(responseJson);
  return resourceId === undefined ? undefined : slotOfId(resourceId);
}

/**
 * The ID of the user-owned resource a stored idempotent response belongs to: the first field in
 * order whose ID carries a user's slot (never the cell's own reserved slot).
 */
export function resourceOfIdempotentResponse(responseJson: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(responseJson);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  for (const field of idempotentResourceFields) {
    const value = record[field];
    if (typeof value !== 'string') continue;
    const slot = slotOfId(value);
    if (slot !== undefined && slot !== cellOwnedSlot) return value;
  }
  return undefined;
}

/** A row as a stable string: the comparison unit of copying and verification. */
export function rowFingerprint(row: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(
    Object.keys(row)
      .sort()
      .map((column) => [column, valueText(row[column])]),
  );
}

function valueText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return String(value);
}

/** An order-independent digest of a set of fingerprints (SHA-256 over them, sorted). */
export function setChecksum(fingerprints: readonly string[]): string {
  const hash = createHash('sha256');
  for (const fingerprint of [...fingerprints].sort()) hash.update(fingerprint).update('\n');
  return hash.digest('hex').slice(0, 16);
}
