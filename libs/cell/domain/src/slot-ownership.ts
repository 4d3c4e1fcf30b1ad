import type { RoutingTable } from '@cellpay/routing';

import { CellError, CellErrorCode } from './cell-error';
import { cellOwnedSlot } from './ids';

/** What the cell may do with a user's slot at the routing epoch it currently enforces. */
export type SlotVerdict =
  | { readonly kind: 'owned' }
  | { readonly kind: 'frozen'; readonly epoch: bigint }
  | { readonly kind: 'not_owned'; readonly ownerCellId: string; readonly epoch: bigint };

/**
 * The port through which the ledger asks whether this cell may change a user's balance. The cell
 * runtime provides it from the routing follower; without a followed table (embedded mode, the
 * simulator, unit tests) every slot is owned.
 */
export interface SlotOwnership {
  verdictOf(slot: number): SlotVerdict;
  /** The routing epoch the verdicts come from; undefined when no table is followed. */
  epoch(): bigint | undefined;
}

export const everySlotOwned: SlotOwnership = {
  verdictOf: () => ({ kind: 'owned' }),
  epoch: () => undefined,
};

/**
 * The verdicts of one routing table for one cell, read from `table()` on every call so a follower
 * that swaps its table is seen at once. A slot outside the table belongs to no user (the IDs of
 * the cell's own accounts carry `cellOwnedSlot`), so it is not the table's to refuse.
 */
export function slotOwnershipOf(cellId: string, table: () => RoutingTable): SlotOwnership {
  return {
    verdictOf: (slot) => {
      const current = table();
      if (!Number.isInteger(slot) || slot < 0 || slot >= current.slotCount)
        return { kind: 'owned' };
      const route = current.routeSlot(slot);
      if (route.cellId !== cellId) {
        return { kind: 'not_owned', ownerCellId: route.cellId, epoch: current.epoch };
      }
      return route.kind === 'frozen' ? { kind: 'frozen', epoch: current.epoch } : { kind: 'owned' };
    },
    epoch: () => table().epoch,
  };
}

/**
 * A posting refused because the account's slot is not writable here: the slot moved to another
 * cell (`slot_not_owned_at_epoch`) or is frozen for a move or a failover (`slot_frozen`). Both are
 * retryable and carry the epoch the cell enforced, like the gRPC slot guard's refusals.
 */
export class SlotNotWritableError extends CellError {
  constructor(
    code: CellErrorCode.SlotNotOwnedAtEpoch | CellErrorCode.SlotFrozen,
    readonly accountId: string,
    readonly slot: number,
    readonly cellEpoch: bigint,
    message: string,
  ) {
    super(code, message);
    this.name = 'SlotNotWritableError';
  }
}

const accountSlotPattern = /^acc_(\d{4})/;

/** The user slot an account ID embeds, or undefined for the cell's own accounts (slot 9999). */
export function userSlotOfAccountId(accountId: string): number | undefined {
  const match = accountSlotPattern.exec(accountId);
  if (match?.[1] === undefined) return undefined;
  const slot = Number(match[1]);
  return slot === cellOwnedSlot ? undefined : slot;
}

/**
 * Refuses, before anything is locked or written, a change to any customer or merchant account
 * whose slot this cell does not own at its current epoch or which is frozen. Internal accounts
 * (clearing, funding, fee income, suspense) carry no user slot and are always writable.
 */
export function requireWritableAccounts(
  ownership: SlotOwnership,
  accountIds: Iterable<string>,
): void {
  for (const accountId of accountIds) {
    const slot = userSlotOfAccountId(accountId);
    if (slot === undefined) continue;
    const verdict = ownership.verdictOf(slot);
    if (verdict.kind === 'owned') continue;
    const [code, state] =
      verdict.kind === 'frozen'
        ? ([CellErrorCode.SlotFrozen, 'frozen'] as const)
        : ([CellErrorCode.SlotNotOwnedAtEpoch, `owned by ${verdict.ownerCellId}`] as const);
    throw new SlotNotWritableError(
      code,
      accountId,
      slot,
      verdict.epoch,
      `account ${accountId} is in slot ${slot}, ${state} at epoch ${verdict.epoch}`,
    );
  }
}
