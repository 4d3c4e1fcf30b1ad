import type { RoutingTable } from '@cellpay/routing';

/** Which cell owns a user or a slot now, as the routing table says. */
export interface CellRouter {
  cellOfUser(userId: string): string;
  cellOfSlot(slot: number): string;
}

/** A router over the routing table a follower keeps current (`table` is read on every call). */
export function routerOf(table: () => RoutingTable): CellRouter {
  return {
    cellOfUser: (userId) => table().routeUser(userId).cellId,
    cellOfSlot: (slot) => table().routeSlot(slot).cellId,
  };
}
