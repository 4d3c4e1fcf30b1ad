import { slotOf } from './slot';

export type CellState = 'active' | 'draining' | 'down';
export type SlotState = 'active' | 'frozen';

export interface CellRoute {
  readonly cellId: string;
  readonly homeRegion: string;
  readonly standbyRegion: string;
  /** The region whose shard is primary now: home, or standby after a failover. */
  readonly activeRegion: string;
  readonly state: CellState;
}

export interface SlotRoute {
  readonly slot: number;
  readonly cellId: string;
  readonly state: SlotState;
}

export interface RoutingSnapshot {
  readonly epoch: bigint;
  readonly slotCount: number;
  readonly cells: readonly CellRoute[];
  readonly slots: readonly SlotRoute[];
  /** Users pinned to a cell regardless of their slot (tests, VIPs, migrations of one user). */
  readonly overrides: readonly { readonly userId: string; readonly cellId: string }[];
}

export type RouteDecision =
  | {
      readonly kind: 'route';
      readonly cellId: string;
      readonly slot: number;
      readonly epoch: bigint;
    }
  | {
      readonly kind: 'frozen';
      readonly cellId: string;
      readonly slot: number;
      readonly epoch: bigint;
    };

export class RoutingTableError extends Error {
  constructor(message: string) {
    super(`routing table: ${message}`);
    this.name = 'RoutingTableError';
  }
}

/**
 * An immutable, validated view of the routing table at one epoch. Construction checks every
 * invariant (each slot owned by exactly one known cell, overrides point at known cells), so a
 * process can never start routing with a table that has a hole or a double assignment.
 */
export class RoutingTable {
  private readonly slotOwners: readonly SlotRoute[];
  private readonly cellsById: ReadonlyMap<string, CellRoute>;
  private readonly overridesByUser: ReadonlyMap<string, string>;

  constructor(readonly snapshot: RoutingSnapshot) {
    const { slotCount } = snapshot;
    if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > 0xffff) {
      throw new RoutingTableError(`slotCount must be an integer from 1 to 65535, got ${slotCount}`);
    }
    if (snapshot.epoch < 0n) throw new RoutingTableError('epoch must not be negative');
    const cells = new Map<string, CellRoute>();
    for (const cell of snapshot.cells) {
      if (cells.has(cell.cellId)) throw new RoutingTableError(`cell ${cell.cellId} listed twice`);
      cells.set(cell.cellId, cell);
    }
    const owners: (SlotRoute | undefined)[] = new Array<SlotRoute | undefined>(slotCount);
    for (const route of snapshot.slots) {
      if (!Number.isInteger(route.slot) || route.slot < 0 || route.slot >= slotCount) {
        throw new RoutingTableError(`slot ${route.slot} is outside 0..${slotCount - 1}`);
      }
      if (owners[route.slot] !== undefined) {
        throw new RoutingTableError(`slot ${route.slot} is assigned twice`);
      }
      if (!cells.has(route.cellId)) {
        throw new RoutingTableError(`slot ${route.slot} points at unknown cell ${route.cellId}`);
      }
      owners[route.slot] = route;
    }
    const missing = owners.findIndex((owner) => owner === undefined);
    if (missing !== -1) throw new RoutingTableError(`slot ${missing} has no cell`);
    const overrides = new Map<string, string>();
    for (const { userId, cellId } of snapshot.overrides) {
      if (!cells.has(cellId)) {
        throw new RoutingTableError(`override for ${userId} points at unknown cell ${cellId}`);
      }
      overrides.set(userId, cellId);
    }
    this.slotOwners = owners as SlotRoute[];
    this.cellsById = cells;
    this.overridesByUser = overrides;
  }

  get epoch(): bigint {
    return this.snapshot.epoch;
  }

  get slotCount(): number {
    return this.snapshot.slotCount;
  }

  /** Where a request for this user goes now: its override, else the owner of its slot. */
  routeUser(userId: string): RouteDecision {
    return this.routeSlot(slotOf(userId, this.slotCount), this.overridesByUser.get(userId));
  }

  /** Where a request about an object goes, given the slot embedded in the object's ID. */
  routeSlot(slot: number, overrideCellId?: string): RouteDecision {
    const owner = this.slotOwners[slot];
    if (owner === undefined) throw new RoutingTableError(`slot ${slot} is outside the table`);
    const cellId = overrideCellId ?? owner.cellId;
    const kind = owner.state === 'frozen' ? 'frozen' : 'route';
    return { kind, cellId, slot, epoch: this.epoch };
  }

  cell(cellId: string): CellRoute | undefined {
    return this.cellsById.get(cellId);
  }

  get cells(): readonly CellRoute[] {
    return this.snapshot.cells;
  }

  /** The slots a cell owns at this epoch: what a cell checks before it writes. */
  slotsOf(cellId: string): number[] {
    return this.slotOwners.filter((owner) => owner.cellId === cellId).map((owner) => owner.slot);
  }

  ownsSlot(cellId: string, slot: number): boolean {
    return this.slotOwners[slot]?.cellId === cellId;
  }
}

/** The usual first table: slots spread over the cells in contiguous ranges, no overrides. */
export function evenlySpreadSnapshot(
  cells: readonly CellRoute[],
  slotCount: number,
  epoch = 1n,
): RoutingSnapshot {
  if (cells.length === 0) throw new RoutingTableError('at least one cell is needed');
  const slots: SlotRoute[] = [];
  for (let slot = 0; slot < slotCount; slot++) {
    const cell = cells[Math.floor((slot * cells.length) / slotCount)];
    if (cell === undefined) throw new RoutingTableError(`no cell for slot ${slot}`);
    slots.push({ slot, cellId: cell.cellId, state: 'active' });
  }
  return { epoch, slotCount, cells, slots, overrides: [] };
}
