import { type SlotOwnership, slotOwnershipOf } from '@cellpay/cell-domain';
import { type CellRoute, RoutingTable, type SlotRoute } from '@cellpay/routing';

import { type CellRouter, routerOf } from '../cell-router';

/** What a cell reads from its routing follower: where payees live, which slots it may write. */
export interface CellRouting {
  readonly router: CellRouter;
  readonly slotOwnership: SlotOwnership;
}

export const slotCount = 100;
export const cellIds = ['cell-1', 'cell-2', 'cell-3'] as const;

/**
 * One routing table history and each cell's view of it: a cell's follower may be behind the
 * newest table, which is what the forwarding rules must survive.
 */
export class RoutingWorld {
  private newest: RoutingTable;
  private readonly views = new Map<string, RoutingTable>();

  constructor() {
    const cells: CellRoute[] = cellIds.map((cellId) => ({
      cellId,
      homeRegion: 'region-a',
      standbyRegion: 'region-b',
      activeRegion: 'region-a',
      state: 'active',
    }));
    const slots: SlotRoute[] = Array.from({ length: slotCount }, (_, slot) => ({
      slot,
      cellId: cellIds[slot % cellIds.length] ?? 'cell-1',
      state: 'active',
    }));
    this.newest = new RoutingTable({ epoch: 1n, slotCount, cells, slots, overrides: [] });
    for (const cellId of cellIds) this.views.set(cellId, this.newest);
  }

  /** A routing change (epoch + 1) that the given cells' followers see at once. */
  change(slot: number, route: Omit<SlotRoute, 'slot'>, seenBy: readonly string[] = cellIds): void {
    const snapshot = this.newest.snapshot;
    this.newest = new RoutingTable({
      ...snapshot,
      epoch: snapshot.epoch + 1n,
      slots: snapshot.slots.map((each) => (each.slot === slot ? { slot, ...route } : each)),
    });
    for (const cellId of seenBy) this.views.set(cellId, this.newest);
  }

  catchUp(cellId: string): void {
    this.views.set(cellId, this.newest);
  }

  viewOf(cellId: string): RoutingTable {
    const view = this.views.get(cellId);
    if (view === undefined) throw new Error(`no cell ${cellId}`);
    return view;
  }

  /** A cell's router and slot ownership, both on that cell's own view of the table. */
  routingOf(cellId: string): CellRouting {
    const view = (): RoutingTable => this.viewOf(cellId);
    return { router: routerOf(view), slotOwnership: slotOwnershipOf(cellId, view) };
  }

  get epoch(): bigint {
    return this.newest.epoch;
  }
}
