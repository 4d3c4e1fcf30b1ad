import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';

import { type RoutingTable, routingHeaders, slotRefusalReasons } from '@cellpay/routing';

/** The routing table the cell checks ownership against (followed from the global zone). */
export interface SlotOwnershipSource {
  current(): RoutingTable;
}

/** Thrown before a use case runs when the caller routed a slot to the wrong cell. */
export class SlotOwnershipError extends Error {
  constructor(
    readonly reason: (typeof slotRefusalReasons)[keyof typeof slotRefusalReasons],
    readonly cellEpoch: bigint,
    message: string,
  ) {
    super(message);
    this.name = 'SlotOwnershipError';
  }
}

export interface SlotCheck {
  readonly slot: number;
  readonly callerEpoch: bigint;
}

/**
 * Reads the gateway's routing metadata; undefined when the call carries none (operators' tools
 * that talk to one cell directly) or carries something unreadable, which is refused.
 */
export function slotCheckOf(metadata: Metadata): SlotCheck | undefined {
  const slot = metadata.get(routingHeaders.slot)[0];
  const epoch = metadata.get(routingHeaders.epoch)[0];
  if (slot === undefined && epoch === undefined) return undefined;
  const slotText = String(slot ?? '');
  const epochText = String(epoch ?? '');
  if (!/^\d{1,4}$/.test(slotText) || !/^\d{1,19}$/.test(epochText)) {
    throw new SlotOwnershipError(slotRefusalReasons.notOwned, -1n, 'routing metadata is malformed');
  }
  return { slot: Number(slotText), callerEpoch: BigInt(epochText) };
}

/**
 * The cell's last line against a stale router: a call about a slot this cell does not own at its
 * epoch is refused, and so is a call routed by a newer epoch than the cell knows (the cell may be
 * the stale one: it could still believe it owns a slot that moved away), and a call for a frozen
 * slot. All refusals are retryable and carry the cell's epoch, so the gateway refreshes its table and retries once.
 */
export function checkSlotOwnership(table: RoutingTable, cellId: string, check: SlotCheck): void {
  if (check.callerEpoch > table.epoch) {
    throw new SlotOwnershipError(
      slotRefusalReasons.routerAhead,
      table.epoch,
      `routed at epoch ${check.callerEpoch}, this cell knows epoch ${table.epoch}`,
    );
  }
  if (check.slot >= table.slotCount || !table.ownsSlot(cellId, check.slot)) {
    throw new SlotOwnershipError(
      slotRefusalReasons.notOwned,
      table.epoch,
      `${cellId} does not own slot ${check.slot} at epoch ${table.epoch}`,
    );
  }
  // A freeze means the slot's data is being copied or its shard promoted: no write may land here
  // whatever the caller's table says, or a stale gateway could write into a moving slot.
  if (table.routeSlot(check.slot).kind === 'frozen') {
    throw new SlotOwnershipError(
      slotRefusalReasons.frozen,
      table.epoch,
      `slot ${check.slot} is frozen at epoch ${table.epoch}`,
    );
  }
}

@Injectable()
export class SlotOwnershipGuard implements CanActivate {
  constructor(
    private readonly cellId: string,
    private readonly routing: SlotOwnershipSource,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const check = slotCheckOf(context.switchToRpc().getContext<Metadata>());
    if (check !== undefined) checkSlotOwnership(this.routing.current(), this.cellId, check);
    return true;
  }
}
