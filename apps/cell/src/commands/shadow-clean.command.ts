import type { Pool, RowDataPacket } from 'mysql2/promise';

import { countRows, truncateShadowTables } from '@cellpay/cell-data-access';
import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';
import { settlementTableSet } from '@cellpay/settlement-cell';

import { shadowTablePairs } from '../shadow/shard-tables';

/** Bounds of the wait for the shadow outbox to drain before anything is removed. */
export const shadowCleanLimits = {
  /** Default wait when `--wait-seconds` is not given. */
  drainWaitSecondsDefault: 30,
  drainWaitSecondsMax: 600,
  /** How often the outbox is counted while waiting. */
  pollIntervalMs: 500,
} as const;

export interface ShadowCleanOptions {
  readonly shard: MysqlEndpoint & { readonly database: string };
  /** Must repeat the shard's database name: the confirmation that this is the shard meant. */
  readonly confirm: string | undefined;
  /** How long to wait for the relay to publish every shadow outbox row (0: do not wait). */
  readonly drainWaitMs?: number;
  readonly pollIntervalMs?: number;
}

export interface ShadowCleanArguments {
  readonly confirm: string | undefined;
  readonly drainWaitSeconds: number;
}

const usage = `usage: cell shadow-clean [--confirm <database>] [--wait-seconds <0..${shadowCleanLimits.drainWaitSecondsMax}>]`;

/** Reads `--confirm <database>` and `--wait-seconds <n>`; anything else is refused. */
export function parseShadowCleanArguments(
  args: readonly string[],
): ShadowCleanArguments | { readonly error: string } {
  let confirm: string | undefined;
  let drainWaitSeconds: number = shadowCleanLimits.drainWaitSecondsDefault;
  const seen = new Set<string>();
  for (let index = 0; index < args.length; index += 2) {
    const flag = args[index];
    const value = args[index + 1];
    if (flag === undefined || value === undefined || value === '' || seen.has(flag)) {
      return { error: usage };
    }
    seen.add(flag);
    if (flag === '--confirm') {
      confirm = value;
    } else if (flag === '--wait-seconds') {
      const seconds = Number(value);
      if (
        !/^\d+$/.test(value) ||
        !(seconds >= 0 && seconds <= shadowCleanLimits.drainWaitSecondsMax)
      ) {
        return {
          error: `--wait-seconds must be a whole number within 0..${shadowCleanLimits.drainWaitSecondsMax}`,
        };
      }
      drainWaitSeconds = seconds;
    } else {
      return { error: usage };
    }
  }
  return { confirm, drainWaitSeconds };
}

/** Shadow outbox rows the relay has not published to Kafka yet. */
async function unpublishedShadowEvents(pool: Pool): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM ${settlementTableSet('shadow_').outbox} WHERE published = 0`,
  );
  return Number(rows[0]?.['n'] ?? 0);
}

/**
 * Empties the shadow tables of one shard after a stress run: the cell's and settlement's, never a
 * live table (`truncateShadowTables` refuses any name without the shadow prefix). Without the
 * confirmation it only shows what it would remove (exit 2). With it, it first waits (bounded) for
 * the shadow outbox to drain: an unpublished row is an event the relay still has to send, and
 * deleting it would leave the other cell's half of a shadow saga undone. If rows are still
 * unpublished at the end of the wait it removes nothing (exit 1). The work is bounded by the
 * fixed list of tables; TRUNCATE does not scan rows. Stop stress traffic first (the
 * `stress_traffic_rejected` switch): a shadow payment committed after the check would be removed
 * with the rest.
 */
export async function shadowCleanCommand(
  options: ShadowCleanOptions,
  write: (text: string) => void,
): Promise<number> {
  const tables = shadowTablePairs().map((pair) => pair.shadow);
  const drainWaitMs = options.drainWaitMs ?? shadowCleanLimits.drainWaitSecondsDefault * 1000;
  const pollIntervalMs = options.pollIntervalMs ?? shadowCleanLimits.pollIntervalMs;
  const pool = createMysqlPool(options.shard, {
    connectionsMax: 1,
    queuedRequestsMax: 4,
    connectTimeoutMs: 5_000,
  });
  try {
    const database = options.shard.database;
    if (options.confirm !== database) {
      const listing = await listingOf(pool, tables);
      const unpublished = await unpublishedShadowEvents(pool);
      write(
        `shadow tables of ${database}:\n${listing}\n` +
          `unpublished shadow outbox rows: ${unpublished}\n` +
          `nothing removed; to empty them run: cell shadow-clean --confirm ${database}\n`,
      );
      return 2;
    }
    const deadline = Date.now() + drainWaitMs;
    let unpublished = await unpublishedShadowEvents(pool);
    if (unpublished > 0) {
      write(
        `waiting up to ${drainWaitMs / 1000} s for the relay to publish ${unpublished} shadow outbox rows of ${database} ...\n`,
      );
    }
    while (unpublished > 0 && Date.now() < deadline) {
      await sleep(Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())));
      unpublished = await unpublishedShadowEvents(pool);
    }
    if (unpublished > 0) {
      write(
        `refused: ${unpublished} shadow outbox rows of ${database} are still unpublished after ${drainWaitMs / 1000} s; ` +
          'nothing removed. Stop stress traffic, make sure the relay of this cell runs, and retry ' +
          '(--wait-seconds waits longer).\n',
      );
      return 1;
    }
    const listing = await listingOf(pool, tables);
    await truncateShadowTables(pool, tables);
    write(`emptied the shadow tables of ${database}:\n${listing}\n`);
    return 0;
  } finally {
    await pool.end();
  }
}

async function listingOf(pool: Pool, tables: readonly string[]): Promise<string> {
  const rows = await countRows(pool, tables);
  return [...rows].map(([table, count]) => `  ${table}: ${count} rows`).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
