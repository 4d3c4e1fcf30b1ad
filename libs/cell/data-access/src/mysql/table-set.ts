import { isStressTraffic } from '@cellpay/observability';

/**
 * The names of the cell's tables. Queries take them from here rather than spelling them out, so
 * shadow traffic (full-link stress tests) can run the same code against `shadow_` copies.
 */
export interface CellTableSet {
  readonly prefix: string;
  readonly migrations: string;
  readonly accounts: string;
  readonly journals: string;
  readonly journalLines: string;
  readonly payments: string;
  readonly refunds: string;
  readonly holds: string;
  readonly transfers: string;
  readonly idempotencyKeys: string;
  readonly glVouchers: string;
  readonly glVoucherLines: string;
  readonly glDayCloses: string;
  readonly glClosedDays: string;
}

export function cellTableSet(prefix = ''): CellTableSet {
  return {
    prefix,
    migrations: `${prefix}cell_schema_migrations`,
    accounts: `${prefix}accounts`,
    journals: `${prefix}journals`,
    journalLines: `${prefix}journal_lines`,
    payments: `${prefix}payments`,
    refunds: `${prefix}refunds`,
    holds: `${prefix}holds`,
    transfers: `${prefix}transfers`,
    idempotencyKeys: `${prefix}idempotency_keys`,
    glVouchers: `${prefix}gl_vouchers`,
    glVoucherLines: `${prefix}gl_voucher_lines`,
    glDayCloses: `${prefix}gl_day_closes`,
    glClosedDays: `${prefix}gl_closed_days`,
  };
}

export const liveTables = cellTableSet();
export const shadowTables = cellTableSet('shadow_');

/** Every table of a set that holds data (the migration history is not data). */
export function dataTablesOf(tables: CellTableSet): readonly string[] {
  return [
    tables.accounts,
    tables.journals,
    tables.journalLines,
    tables.payments,
    tables.refunds,
    tables.holds,
    tables.transfers,
    tables.idempotencyKeys,
    tables.glVouchers,
    tables.glVoucherLines,
    tables.glDayCloses,
    tables.glClosedDays,
  ];
}

/** Chooses the table set of a unit of work when it starts. */
export type CellTableSelector = () => CellTableSet;

/**
 * The one place that decides where a unit of work writes: stress traffic (the request context's
 * mark) goes to the shadow tables of the same shard, everything else to the live ones.
 */
export const tablesOfCurrentRequest: CellTableSelector = () =>
  isStressTraffic() ? shadowTables : liveTables;
