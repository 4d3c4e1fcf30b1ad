import type { Pool, RowDataPacket } from 'mysql2/promise';

/** A live table and its shadow copy in the same shard. */
export interface ShadowTablePair {
  readonly live: string;
  readonly shadow: string;
}

export interface ShadowSchemaDifference {
  readonly pair: ShadowTablePair;
  /** What differs: a missing table, or both definitions with the table name taken out. */
  readonly detail: string;
}

/** The prefix of every shadow table; cleaning refuses any table without it. */
export const shadowTablePrefix = 'shadow_';

/** More tables than this in one clean is a wiring mistake, not a shard. */
export const shadowTablesCleanedMax = 64;

async function createStatementOf(pool: Pool, table: string): Promise<string | undefined> {
  const [exists] = await pool.query<RowDataPacket[]>(
    `SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  if (exists.length === 0) return undefined;
  const [rows] = await pool.query<RowDataPacket[]>(`SHOW CREATE TABLE \`${table}\``);
  const statement = rows[0]?.['Create Table'];
  return typeof statement === 'string' ? statement : undefined;
}

/**
 * The definition with what may differ between a table and its copy taken out: the name, and the
 * next AUTO_INCREMENT value (a counter, not schema).
 */
function comparable(statement: string, table: string): string {
  return statement
    .replace(`CREATE TABLE \`${table}\``, 'CREATE TABLE `<table>`')
    .replace(/ AUTO_INCREMENT=\d+/, '');
}

/**
 * Compares each live table with its shadow copy through `SHOW CREATE TABLE`. Shadow tables are made
 * by the same migrations as the live ones, so any difference means a migration reached one set and
 * not the other: stress traffic would then test a schema production does not have.
 */
export async function shadowSchemaDifferences(
  pool: Pool,
  pairs: readonly ShadowTablePair[],
): Promise<ShadowSchemaDifference[]> {
  const differences: ShadowSchemaDifference[] = [];
  for (const pair of pairs) {
    const live = await createStatementOf(pool, pair.live);
    const shadow = await createStatementOf(pool, pair.shadow);
    if (live === undefined || shadow === undefined) {
      const missing = live === undefined ? pair.live : pair.shadow;
      differences.push({ pair, detail: `table ${missing} does not exist` });
      continue;
    }
    const liveShape = comparable(live, pair.live);
    const shadowShape = comparable(shadow, pair.shadow);
    if (liveShape !== shadowShape) {
      differences.push({ pair, detail: `live:\n${liveShape}\nshadow:\n${shadowShape}` });
    }
  }
  return differences;
}

/** Rows in each of the given tables: what a clean would remove, shown before asking. */
export async function countRows(
  pool: Pool,
  tables: readonly string[],
): Promise<ReadonlyMap<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
    counts.set(table, Number(rows[0]?.['n'] ?? 0));
  }
  return counts;
}

/**
 * Empties shadow tables of one shard (after a stress run). Only names with the shadow prefix are
 * accepted, checked before anything is truncated, so a wrong list can never touch a live table.
 */
export async function truncateShadowTables(pool: Pool, tables: readonly string[]): Promise<void> {
  if (tables.length > shadowTablesCleanedMax) {
    throw new RangeError(`at most ${shadowTablesCleanedMax} tables are cleaned at once`);
  }
  for (const table of tables) {
    if (!table.startsWith(shadowTablePrefix) || !/^[a-z0-9_]{1,64}$/.test(table)) {
      throw new Error(`refusing to truncate ${table}: not a shadow table`);
    }
  }
  for (const table of tables) await pool.query(`TRUNCATE TABLE \`${table}\``);
}
