import { randomBytes } from 'node:crypto';

import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import type { RoutingStore } from '@cellpay/global-data-access';

import { migrationLimitsDefault, type MigrationLimits } from './migration-limits';
import { MigrationError, MigrationErrorCode } from './migration.exception';
import { rows } from './shard-connection';
import {
  slotRows,
  tablesIn,
  totalOf,
  withTarget,
  type RowCounts,
  type SlotScope,
} from './slot-copier';
import { slotPattern } from './slot-schema';

export interface MigrateSlotsRequest {
  readonly slots: readonly number[];
  readonly targetCellId: string;
  /** Who runs it: written to the audit log. */
  readonly actor: string;
}

export interface MigrationPlan {
  readonly migrationId: string;
  readonly slots: readonly number[];
  readonly sourceCellId: string;
  readonly targetCellId: string;
  readonly epoch: string;
  /** The source's rows in the moving slots, per table, when planned. */
  readonly sourceRows: RowCounts;
  readonly settlementTables: boolean;
}

export interface PlanDependencies {
  readonly routing: RoutingStore;
  /** A pool on a cell's shard primary (the caller owns and closes it). */
  readonly shardPool: (cellId: string) => Pool;
  readonly limits?: Partial<MigrationLimits>;
}

/** Slots one run moves at most: a bigger move is several runs, each with its own short freeze. */
const slotsMax = 100;

/** Which cell owns the slots now, what moves, and whether the target can take it. */
export async function planMigration(
  request: MigrateSlotsRequest,
  dependencies: PlanDependencies,
): Promise<MigrationPlan> {
  const slots = [...new Set(request.slots)].sort((a, b) => a - b);
  const snapshot = await dependencies.routing.loadSnapshot();
  if (snapshot === undefined) {
    throw new MigrationError(
      MigrationErrorCode.SlotsInvalid,
      'the routing table is not initialised',
    );
  }
  if (slots.length === 0 || slots.length > slotsMax) {
    throw new MigrationError(MigrationErrorCode.SlotsInvalid, `give 1 to ${slotsMax} slots`);
  }
  const routes = slots.map((slot) => snapshot.slots.find((route) => route.slot === slot));
  const owners = new Set(routes.map((route) => route?.cellId));
  const first = routes[0];
  if (routes.some((route) => route === undefined) || first === undefined) {
    throw new MigrationError(
      MigrationErrorCode.SlotsInvalid,
      `slots must be below ${snapshot.slotCount}`,
    );
  }
  if (owners.size !== 1 || routes.some((route) => route?.state !== 'active')) {
    throw new MigrationError(
      MigrationErrorCode.SlotNotOwnedBySource,
      'all slots must be active on one cell (move slots of different cells in separate runs)',
    );
  }
  const sourceCellId = first.cellId;
  if (sourceCellId === request.targetCellId) {
    throw new MigrationError(
      MigrationErrorCode.SlotsInvalid,
      `the slots already live on ${sourceCellId}`,
    );
  }
  if (
    !snapshot.cells.some((cell) => cell.cellId === request.targetCellId && cell.state === 'active')
  ) {
    throw new MigrationError(
      MigrationErrorCode.SlotsInvalid,
      `${request.targetCellId} is not an active cell`,
    );
  }
  const limits = { ...migrationLimitsDefault, ...dependencies.limits };
  const source = dependencies.shardPool(sourceCellId);
  const target = dependencies.shardPool(request.targetCellId);
  const settlementTables =
    (await hasTable(source, 'settlement_sagas')) && (await hasTable(target, 'settlement_sagas'));
  const scope: SlotScope = {
    slots,
    sourceCellId,
    targetCellId: request.targetCellId,
    settlementTables,
    limits,
  };
  const sourceRows = await withTarget(source, (connection) => countSlotRows(connection, scope));
  const targetRows = await withTarget(target, (connection) => countSlotRows(connection, scope));
  if (totalOf(targetRows) > 0) {
    throw new MigrationError(
      MigrationErrorCode.TargetHasRowsInSlots,
      `${request.targetCellId} already holds rows of these slots (${JSON.stringify(targetRows)}); ` +
        'moving a slot back to a cell that held it before is not supported',
    );
  }
  return {
    migrationId: `mig_${randomBytes(10).toString('hex')}`,
    slots,
    sourceCellId,
    targetCellId: request.targetCellId,
    epoch: snapshot.epoch.toString(),
    sourceRows,
    settlementTables,
  };
}

async function hasTable(pool: Pool, table: string): Promise<boolean> {
  const [found] = await pool.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
    [table],
  );
  return found.length > 0;
}

async function countSlotRows(connection: PoolConnection, scope: SlotScope): Promise<RowCounts> {
  const counts: RowCounts = {};
  for (const spec of tablesIn(scope)) {
    let count = 0;
    for await (const page of slotRows(connection, scope, spec)) count += page.length;
    counts[spec.table] = count;
  }
  let lines = 0;
  for (const slot of scope.slots) {
    const found = await rows(
      connection,
      'SELECT COUNT(*) AS line_count FROM journal_lines WHERE account_id LIKE ?',
      [slotPattern('acc', slot)],
    );
    lines += Number(found[0]?.['line_count'] ?? 0);
  }
  counts['journal_lines'] = lines;
  return counts;
}
