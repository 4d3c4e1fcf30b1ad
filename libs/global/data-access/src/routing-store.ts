import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import {
  RoutingTable,
  type CellRoute,
  type CellState,
  type RoutingSnapshot,
  type SlotRoute,
  type SlotState,
} from '@cellpay/routing';

export interface RoutingChange {
  /** Who asked for it (an operator, `cellctl`, a drill): written to the audit log. */
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
}

/**
 * The routing table in the global zone. Every change runs in one transaction that locks the epoch
 * row, applies the change, validates the resulting table (so an invalid table is never committed),
 * increments the epoch and records an audit row with the table before and after.
 */
export class RoutingStore {
  constructor(private readonly pool: Pool) {}

  async readEpoch(): Promise<bigint | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT epoch FROM routing_meta WHERE id = 1',
    );
    const epoch = rows[0]?.['epoch'];
    return epoch === undefined ? undefined : BigInt(String(epoch));
  }

  /** A consistent snapshot (one read view), or undefined before the table was initialised. */
  async loadSnapshot(): Promise<RoutingSnapshot | undefined> {
    const connection = await this.pool.getConnection();
    try {
      await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      try {
        return await readSnapshot(connection, false);
      } finally {
        await connection.query('COMMIT');
      }
    } finally {
      connection.release();
    }
  }

  /** Writes the first table of an installation; refuses if one exists. */
  async initialize(snapshot: RoutingSnapshot, actor: string): Promise<RoutingTable> {
    const table = new RoutingTable(snapshot);
    return this.inTransaction(async (connection) => {
      const [existing] = await connection.query<RowDataPacket[]>(
        'SELECT epoch FROM routing_meta WHERE id = 1 FOR UPDATE',
      );
      if (existing.length > 0) throw new Error('routing table: already initialised');
      await connection.query('INSERT INTO routing_meta (id, epoch, slot_count) VALUES (1, ?, ?)', [
        snapshot.epoch.toString(),
        snapshot.slotCount,
      ]);
      await writeRows(connection, snapshot);
      await audit(
        connection,
        { actor, action: 'routing.initialize', subject: 'routing' },
        undefined,
        snapshot,
      );
      return table;
    });
  }

  /** Moves slots to a cell (the final flip of a slot migration). */
  assignSlots(
    slots: readonly number[],
    cellId: string,
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => ({
      ...snapshot,
      slots: snapshot.slots.map((route) =>
        slots.includes(route.slot) ? { ...route, cellId } : route,
      ),
    }));
  }

  /** Freezes or unfreezes slots: frozen slots get a retryable refusal at the gateway. */
  setSlotState(
    slots: readonly number[],
    state: SlotState,
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => ({
      ...snapshot,
      slots: snapshot.slots.map((route) =>
        slots.includes(route.slot) ? { ...route, state } : route,
      ),
    }));
  }

  setCell(
    cellId: string,
    update: Partial<Pick<CellRoute, 'activeRegion' | 'state'>> & { state?: CellState },
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => {
      if (!snapshot.cells.some((cell) => cell.cellId === cellId)) {
        throw new Error(`routing table: unknown cell ${cellId}`);
      }
      return {
        ...snapshot,
        cells: snapshot.cells.map((cell) =>
          cell.cellId === cellId ? { ...cell, ...update } : cell,
        ),
      };
    });
  }

  setOverride(
    userId: string,
    cellId: string | undefined,
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => ({
      ...snapshot,
      overrides: [
        ...snapshot.overrides.filter((override) => override.userId !== userId),
        ...(cellId === undefined ? [] : [{ userId, cellId }]),
      ],
    }));
  }

  // --- Slot migration (cellctl migrate-slots, @cellpay/migration) -------------------------------
  // Each step checks the slots are where the migration left them, inside the same transaction as
  // the change, so a migration never acts on a table someone else changed under it.

  /** Freezes slots that `cellId` owns and serves (active): the first step of a move. */
  freezeSlotsOf(
    slots: readonly number[],
    cellId: string,
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => {
      requireSlots(snapshot, slots, cellId, 'active');
      return withSlots(snapshot, slots, (route) => ({ ...route, state: 'frozen' }));
    });
  }

  /** Unfreezes slots that `cellId` owns and that are frozen (an aborted move). */
  unfreezeSlotsOf(
    slots: readonly number[],
    cellId: string,
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => {
      requireSlots(snapshot, slots, cellId, 'frozen');
      return withSlots(snapshot, slots, (route) => ({ ...route, state: 'active' }));
    });
  }

  /** The flip: frozen slots of `fromCellId` become active slots of `toCellId`, in one epoch. */
  moveFrozenSlots(
    slots: readonly number[],
    fromCellId: string,
    toCellId: string,
    change: RoutingChange,
  ): Promise<RoutingTable> {
    return this.change(change, (snapshot) => {
      requireSlots(snapshot, slots, fromCellId, 'frozen');
      if (!snapshot.cells.some((cell) => cell.cellId === toCellId)) {
        throw new Error(`routing table: unknown cell ${toCellId}`);
      }
      return withSlots(snapshot, slots, (route) => ({
        ...route,
        cellId: toCellId,
        state: 'active',
      }));
    });
  }

  // --- End of slot migration ---------------------------------------------------------------------

  private change(
    change: RoutingChange,
    apply: (snapshot: RoutingSnapshot) => RoutingSnapshot,
  ): Promise<RoutingTable> {
    return this.inTransaction(async (connection) => {
      const before = await readSnapshot(connection, true);
      if (before === undefined) throw new Error('routing table: not initialised');
      const after = { ...apply(before), epoch: before.epoch + 1n };
      const table = new RoutingTable(after);
      await connection.query('UPDATE routing_meta SET epoch = ? WHERE id = 1', [
        after.epoch.toString(),
      ]);
      await connection.query('DELETE FROM routing_overrides');
      await connection.query('DELETE FROM routing_slots');
      await connection.query('DELETE FROM routing_cells');
      await writeRows(connection, after);
      await audit(connection, change, before, after);
      return table;
    });
  }

  private async inTransaction<T>(work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    const connection = await this.pool.getConnection();
    try {
      await connection.beginTransaction();
      try {
        const result = await work(connection);
        await connection.commit();
        return result;
      } catch (error) {
        await connection.rollback();
        throw error;
      }
    } finally {
      connection.release();
    }
  }
}

function requireSlots(
  snapshot: RoutingSnapshot,
  slots: readonly number[],
  cellId: string,
  state: SlotState,
): void {
  for (const slot of slots) {
    const route = snapshot.slots.find((candidate) => candidate.slot === slot);
    if (route === undefined) throw new Error(`routing table: slot ${slot} does not exist`);
    if (route.cellId !== cellId || route.state !== state) {
      throw new Error(
        `routing table: slot ${slot} is ${route.state} on ${route.cellId}, expected ${state} on ${cellId}`,
      );
    }
  }
}

function withSlots(
  snapshot: RoutingSnapshot,
  slots: readonly number[],
  update: (route: SlotRoute) => SlotRoute,
): RoutingSnapshot {
  return {
    ...snapshot,
    slots: snapshot.slots.map((route) => (slots.includes(route.slot) ? update(route) : route)),
  };
}

async function readSnapshot(
  connection: PoolConnection,
  forUpdate: boolean,
): Promise<RoutingSnapshot | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  const [meta] = await connection.query<RowDataPacket[]>(
    `SELECT epoch, slot_count FROM routing_meta WHERE id = 1${lock}`,
  );
  const row = meta[0];
  if (row === undefined) return undefined;
  const [cells] = await connection.query<RowDataPacket[]>(
    'SELECT cell_id, home_region, standby_region, active_region, state FROM routing_cells ORDER BY cell_id',
  );
  const [slots] = await connection.query<RowDataPacket[]>(
    'SELECT slot, cell_id, state FROM routing_slots ORDER BY slot',
  );
  const [overrides] = await connection.query<RowDataPacket[]>(
    'SELECT user_id, cell_id FROM routing_overrides ORDER BY user_id',
  );
  return {
    epoch: BigInt(String(row['epoch'])),
    slotCount: Number(row['slot_count']),
    cells: cells.map((cell) => ({
      cellId: String(cell['cell_id']),
      homeRegion: String(cell['home_region']),
      standbyRegion: String(cell['standby_region']),
      activeRegion: String(cell['active_region']),
      state: String(cell['state']) as CellState,
    })),
    slots: slots.map((slot): SlotRoute => ({
      slot: Number(slot['slot']),
      cellId: String(slot['cell_id']),
      state: String(slot['state']) as SlotState,
    })),
    overrides: overrides.map((override) => ({
      userId: String(override['user_id']),
      cellId: String(override['cell_id']),
    })),
  };
}

async function writeRows(connection: PoolConnection, snapshot: RoutingSnapshot): Promise<void> {
  for (const cell of snapshot.cells) {
    await connection.query(
      `INSERT INTO routing_cells (cell_id, home_region, standby_region, active_region, state)
       VALUES (?, ?, ?, ?, ?)`,
      [cell.cellId, cell.homeRegion, cell.standbyRegion, cell.activeRegion, cell.state],
    );
  }
  if (snapshot.slots.length > 0) {
    await connection.query('INSERT INTO routing_slots (slot, cell_id, state) VALUES ?', [
      snapshot.slots.map((slot) => [slot.slot, slot.cellId, slot.state]),
    ]);
  }
  if (snapshot.overrides.length > 0) {
    await connection.query('INSERT INTO routing_overrides (user_id, cell_id) VALUES ?', [
      snapshot.overrides.map((override) => [override.userId, override.cellId]),
    ]);
  }
}

async function audit(
  connection: PoolConnection,
  change: RoutingChange,
  before: RoutingSnapshot | undefined,
  after: RoutingSnapshot,
): Promise<void> {
  await connection.query(
    'INSERT INTO audit_log (actor, action, subject, before_json, after_json) VALUES (?, ?, ?, ?, ?)',
    [
      change.actor,
      change.action,
      change.subject,
      before === undefined ? null : serializeSnapshot(before),
      serializeSnapshot(after),
    ],
  );
}

/** JSON with the epoch as a decimal string: the form kept in Redis and in the audit log. */
export function serializeSnapshot(snapshot: RoutingSnapshot): string {
  return JSON.stringify({ ...snapshot, epoch: snapshot.epoch.toString() });
}

export function deserializeSnapshot(json: string): RoutingSnapshot {
  const parsed = JSON.parse(json) as Omit<RoutingSnapshot, 'epoch'> & { epoch: string };
  return { ...parsed, epoch: BigInt(parsed.epoch) };
}
