import { countRows, truncateShadowTables } from '@cellpay/cell-data-access';
import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';

import { shadowTablePairs } from '../shadow/shard-tables';

export interface ShadowCleanOptions {
  readonly shard: MysqlEndpoint & { readonly database: string };
  /** Must repeat the shard's database name: the confirmation that this is the shard meant. */
  readonly confirm: string | undefined;
}

/** Reads `--confirm <database>` from the subcommand's arguments; anything else is refused. */
export function parseShadowCleanArguments(
  args: readonly string[],
): { readonly confirm: string | undefined } | { readonly error: string } {
  if (args.length === 0) return { confirm: undefined };
  if (args.length === 2 && args[0] === '--confirm' && args[1] !== undefined && args[1] !== '') {
    return { confirm: args[1] };
  }
  return { error: 'usage: cell shadow-clean [--confirm <database>]' };
}

/**
 * Empties the shadow tables of one shard after a stress run: the cell's and settlement's, never a
 * live table (`truncateShadowTables` refuses any name without the shadow prefix). Without the
 * confirmation it only shows what it would remove (exit 2). The work is bounded by the fixed list
 * of tables; TRUNCATE does not scan rows. Run it when no stress traffic flows and the shadow
 * outbox has drained, or events still in Kafka will find no shadow accounts and be dead-lettered.
 */
export async function shadowCleanCommand(
  options: ShadowCleanOptions,
  write: (text: string) => void,
): Promise<number> {
  const tables = shadowTablePairs().map((pair) => pair.shadow);
  const pool = createMysqlPool(options.shard, {
    connectionsMax: 1,
    queuedRequestsMax: 4,
    connectTimeoutMs: 5_000,
  });
  try {
    const before = await countRows(pool, tables);
    const listing = [...before].map(([table, rows]) => `  ${table}: ${rows} rows`).join('\n');
    if (options.confirm !== options.shard.database) {
      write(
        `shadow tables of ${options.shard.database}:\n${listing}\n` +
          `nothing removed; to empty them run: cell shadow-clean --confirm ${options.shard.database}\n`,
      );
      return 2;
    }
    await truncateShadowTables(pool, tables);
    write(`emptied the shadow tables of ${options.shard.database}:\n${listing}\n`);
    return 0;
  } finally {
    await pool.end();
  }
}
