import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';

import {
  type RouteDecision,
  type RoutingTable,
  routingHeaders,
  slotRefusalReasons,
} from '@cellpay/routing';

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

/** Who receives the money of a same-cell call: a merchant (by user ID) or an account (by ID). */
export type Counterpart =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'account'; readonly accountId: string };

/**
 * The receiving side of the calls that move money to someone else inside this cell: the merchant
 * of a local Pay or Authorize, the receiving account of a local transfer. Keyed by controller and
 * handler, as Nest names them.
 */
export function counterpartOf(handler: string, request: unknown): Counterpart | undefined {
  const body = (request ?? {}) as { merchantId?: unknown; toAccountId?: unknown };
  switch (handler) {
    case 'PaymentGrpcController.pay':
    case 'PaymentGrpcController.authorize':
      return typeof body.merchantId === 'string' && body.merchantId !== ''
        ? { kind: 'user', userId: body.merchantId }
        : undefined;
    case 'AccountGrpcController.transferMoney':
      return typeof body.toAccountId === 'string' && body.toAccountId !== ''
        ? { kind: 'account', accountId: body.toAccountId }
        : undefined;
    default:
      return undefined;
  }
}

/** The slot an account ID embeds (`acc_0042...`), or undefined for an ID of another shape. */
function slotOfAccountId(accountId: string): number | undefined {
  const match = /^acc_(\d{4})/.exec(accountId);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * A same-cell call must also find its receiving side here: a gateway with a stale table could
 * otherwise send a Pay to a merchant whose slot moved to another cell, and the money would land on
 * the account the move left behind at zero. Refused like a slot the cell does not own (retryable,
 * with the cell's epoch): the gateway refreshes and routes the call as cross-cell. A frozen
 * receiving slot is being copied or promoted: refused as frozen. Malformed IDs are left to the use
 * case's own validation.
 */
export function checkCounterpartOwnership(
  table: RoutingTable,
  cellId: string,
  counterpart: Counterpart,
): void {
  let route: RouteDecision;
  if (counterpart.kind === 'user') {
    route = table.routeUser(counterpart.userId);
  } else {
    const slot = slotOfAccountId(counterpart.accountId);
    if (slot === undefined || slot >= table.slotCount) return;
    route = table.routeSlot(slot);
  }
  const subject = counterpart.kind === 'user' ? counterpart.userId : counterpart.accountId;
  if (route.kind === 'frozen') {
    throw new SlotOwnershipError(
      slotRefusalReasons.frozen,
      table.epoch,
      `the receiving side ${subject} is in frozen slot ${route.slot} at epoch ${table.epoch}`,
    );
  }
  if (route.cellId !== cellId) {
    throw new SlotOwnershipError(
      slotRefusalReasons.notOwned,
      table.epoch,
      `the receiving side ${subject} lives in ${route.cellId} at epoch ${table.epoch}, not ${cellId}`,
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
    if (check === undefined) return true;
    const table = this.routing.current();
    checkSlotOwnership(table, this.cellId, check);
    const handler = `${context.getClass().name}.${context.getHandler().name}`;
    const counterpart = counterpartOf(handler, context.switchToRpc().getData());
    if (counterpart !== undefined) checkCounterpartOwnership(table, this.cellId, counterpart);
    return true;
  }
}
