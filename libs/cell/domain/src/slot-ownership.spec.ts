import { evenlySpreadSnapshot, type RoutingSnapshot, RoutingTable } from '@cellpay/routing';

import { CellErrorCode } from './cell-error';
import {
  everySlotOwned,
  requireWritableAccounts,
  SlotNotWritableError,
  slotOwnershipOf,
  userSlotOfAccountId,
} from './slot-ownership';

const cell = (cellId: string) => ({
  cellId,
  homeRegion: 'region-a',
  standbyRegion: 'region-b',
  activeRegion: 'region-a',
  state: 'active' as const,
});

/** Slots 0-4 on cell-1, 5-9 on cell-2; slot 3 frozen on cell-1, at epoch 5. */
function table(): RoutingTable {
  const snapshot: RoutingSnapshot = evenlySpreadSnapshot([cell('cell-1'), cell('cell-2')], 10, 5n);
  return new RoutingTable({
    ...snapshot,
    slots: snapshot.slots.map((route) =>
      route.slot === 3 ? { ...route, state: 'frozen' as const } : route,
    ),
  });
}

function refusalOf(work: () => void): SlotNotWritableError | undefined {
  try {
    work();
  } catch (error) {
    if (error instanceof SlotNotWritableError) return error;
    throw error;
  }
  return undefined;
}

describe('slot ownership', () => {
  const ownership = slotOwnershipOf('cell-1', table);

  it('reads the slot of customer and merchant account IDs, none of the cell’s own', () => {
    expect(userSlotOfAccountId('acc_0042T000000000001')).toBe(42);
    expect(userSlotOfAccountId('acc_9999T000000000001')).toBeUndefined();
    expect(userSlotOfAccountId('jnl_0042T000000000001')).toBeUndefined();
  });

  it('gives the verdict of the table for the cell', () => {
    expect(ownership.verdictOf(1)).toEqual({ kind: 'owned' });
    expect(ownership.verdictOf(3)).toEqual({ kind: 'frozen', epoch: 5n });
    expect(ownership.verdictOf(7)).toEqual({ kind: 'not_owned', ownerCellId: 'cell-2', epoch: 5n });
    // No user hashes outside the table: such a slot is not the table's to refuse.
    expect(ownership.verdictOf(10)).toEqual({ kind: 'owned' });
  });

  it('refuses accounts in moved or frozen slots with the epoch, and exempts internal ones', () => {
    expect(
      refusalOf(() =>
        requireWritableAccounts(ownership, ['acc_9999T000000000001', 'acc_0001T000000000001']),
      ),
    ).toBeUndefined();
    const moved = refusalOf(() =>
      requireWritableAccounts(ownership, ['acc_9999T000000000001', 'acc_0007T000000000002']),
    );
    expect(moved).toMatchObject({
      code: CellErrorCode.SlotNotOwnedAtEpoch,
      accountId: 'acc_0007T000000000002',
      slot: 7,
      cellEpoch: 5n,
    });
    const frozen = refusalOf(() => requireWritableAccounts(ownership, ['acc_0003T000000000003']));
    expect(frozen).toMatchObject({ code: CellErrorCode.SlotFrozen, slot: 3, cellEpoch: 5n });
  });

  it('owns every slot when no table is followed', () => {
    expect(
      refusalOf(() => requireWritableAccounts(everySlotOwned, ['acc_0007T000000000002'])),
    ).toBeUndefined();
  });
});
