import type { Pool } from 'mysql2/promise';

import {
  dataTablesOf,
  liveTables,
  migrateCellShard,
  shadowTables,
  type ShadowTablePair,
} from '@cellpay/cell-data-access';
import { migrateSettlementShard, settlementTableSet } from '@cellpay/settlement-cell';

const liveSettlementTables = settlementTableSet();
const shadowSettlementTables = settlementTableSet(shadowTables.prefix);

/** Settlement's tables that hold data (not its migration history). */
function settlementDataTablesOf(tables: ReturnType<typeof settlementTableSet>): string[] {
  return [tables.outbox, tables.inbox, tables.sagas];
}

/** Every data table of a shard paired with its shadow copy: the cell's and settlement's. */
export function shadowTablePairs(): readonly ShadowTablePair[] {
  const live = [...dataTablesOf(liveTables), ...settlementDataTablesOf(liveSettlementTables)];
  const shadow = [...dataTablesOf(shadowTables), ...settlementDataTablesOf(shadowSettlementTables)];
  return live.map((table, index) => ({ live: table, shadow: shadow[index] ?? '' }));
}

/**
 * Applies every migration of a shard to both table sets: the cell's and settlement's, live and
 * shadow. Returns the versions applied per set.
 */
export async function migrateShardTableSets(pool: Pool): Promise<Record<string, number[]>> {
  return {
    cell: await migrateCellShard(pool, liveTables),
    cellShadow: await migrateCellShard(pool, shadowTables),
    settlement: await migrateSettlementShard(pool, liveSettlementTables),
    settlementShadow: await migrateSettlementShard(pool, shadowSettlementTables),
  };
}
