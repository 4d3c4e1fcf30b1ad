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
