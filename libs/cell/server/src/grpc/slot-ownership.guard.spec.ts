import { Metadata } from '@grpc/grpc-js';

import { evenlySpreadSnapshot, RoutingTable, routingHeaders, slotOf } from '@cellpay/routing';

import {
  checkCounterpartOwnership,
  checkSlotOwnership,
  counterpartOf,
  slotCheckOf,
  SlotOwnershipError,
} from './slot-ownership.guard';

const cells = ['cell-1', 'cell-2'].map((cellId) => ({
  cellId,
  homeRegion: 'r1',
  standbyRegion: 'r2',
  activeRegion: 'r1',
  state: 'active' as const,
}));
// Slots 0-4 belong to cell-1 and 5-9 to cell-2 at epoch 7.
const table = new RoutingTable(evenlySpreadSnapshot(cells, 10, 7n));

function refusal(run: () => void): SlotOwnershipError {
  try {
    run();
  } catch (error) {
    if (error instanceof SlotOwnershipError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('the slot ownership guard', () => {
  it('lets through a slot the cell owns, at its epoch or an older one', () => {
    expect(() => checkSlotOwnership(table, 'cell-1', { slot: 3, callerEpoch: 7n })).not.toThrow();
    expect(() => checkSlotOwnership(table, 'cell-1', { slot: 3, callerEpoch: 5n })).not.toThrow();
  });

  it('refuses a slot the cell does not own, naming its epoch', () => {
    const error = refusal(() => checkSlotOwnership(table, 'cell-1', { slot: 6, callerEpoch: 7n }));
    expect(error).toMatchObject({ reason: 'slot_not_owned_at_epoch', cellEpoch: 7n });
  });

  it('refuses a call routed by a newer epoch than the cell knows, even for its own slot', () => {
    const error = refusal(() => checkSlotOwnership(table, 'cell-1', { slot: 3, callerEpoch: 8n }));
    expect(error).toMatchObject({ reason: 'routing_epoch_ahead_of_cell', cellEpoch: 7n });
  });

  it('refuses a frozen slot even to a caller whose table is older and shows it active', () => {
    const snapshot = table.snapshot;
    const frozen = new RoutingTable({
      ...snapshot,
      epoch: 8n,
      slots: snapshot.slots.map((s) => (s.slot === 3 ? { ...s, state: 'frozen' as const } : s)),
    });
    const error = refusal(() => checkSlotOwnership(frozen, 'cell-1', { slot: 3, callerEpoch: 7n }));
    expect(error).toMatchObject({ reason: 'slot_frozen', cellEpoch: 8n });
    expect(() => checkSlotOwnership(frozen, 'cell-1', { slot: 4, callerEpoch: 7n })).not.toThrow();
  });

  it('refuses a slot outside the table', () => {
    const error = refusal(() => checkSlotOwnership(table, 'cell-1', { slot: 10, callerEpoch: 7n }));
    expect(error.reason).toBe('slot_not_owned_at_epoch');
  });

  it('reads the routing metadata; calls without it are not checked; garbage is refused', () => {
    const metadata = new Metadata();
    expect(slotCheckOf(metadata)).toBeUndefined();
    metadata.set(routingHeaders.slot, '42');
    metadata.set(routingHeaders.epoch, '9');
    expect(slotCheckOf(metadata)).toEqual({ slot: 42, callerEpoch: 9n });
    metadata.set(routingHeaders.epoch, 'nine');
    expect(() => slotCheckOf(metadata)).toThrow(SlotOwnershipError);
  });

  describe('the receiving side of a same-cell call', () => {
    /** A user ID whose slot lands in `cellId`'s half of the table (slots 0-4: cell-1). */
    const userIn = (cellId: string): string => {
      for (let n = 0; ; n++) {
        const userId = `merchant-${n}`;
        if (table.routeUser(userId).cellId === cellId) return userId;
      }
    };

    it('names the merchant of a Pay or Authorize and the target account of a transfer only', () => {
      expect(counterpartOf('PaymentGrpcController.pay', { merchantId: 'm-1' })).toEqual({
        kind: 'user',
        userId: 'm-1',
      });
      expect(counterpartOf('PaymentGrpcController.authorize', { merchantId: 'm-1' })).toEqual({
        kind: 'user',
        userId: 'm-1',
      });
      expect(
        counterpartOf('AccountGrpcController.transferMoney', { toAccountId: 'acc_0007X' }),
      ).toEqual({ kind: 'account', accountId: 'acc_0007X' });
      expect(counterpartOf('AccountGrpcController.topUp', { toAccountId: 'acc_0007X' })).toBe(
        undefined,
      );
      expect(counterpartOf('PaymentGrpcController.pay', {})).toBeUndefined();
    });

    it('lets through a merchant or account that lives in this cell', () => {
      const local = userIn('cell-1');
      expect(() =>
        checkCounterpartOwnership(table, 'cell-1', { kind: 'user', userId: local }),
      ).not.toThrow();
      expect(() =>
        checkCounterpartOwnership(table, 'cell-1', { kind: 'account', accountId: 'acc_0003AB' }),
      ).not.toThrow();
    });

    it('refuses, retryably, a merchant or account whose slot another cell owns', () => {
      const remote = userIn('cell-2');
      expect(slotOf(remote, table.slotCount)).toBeGreaterThanOrEqual(5);
      const byUser = refusal(() =>
        checkCounterpartOwnership(table, 'cell-1', { kind: 'user', userId: remote }),
      );
      expect(byUser).toMatchObject({ reason: 'slot_not_owned_at_epoch', cellEpoch: 7n });
      expect(byUser.message).toContain(`${remote} lives in cell-2`);
      const byAccount = refusal(() =>
        checkCounterpartOwnership(table, 'cell-1', { kind: 'account', accountId: 'acc_0006AB' }),
      );
      expect(byAccount.reason).toBe('slot_not_owned_at_epoch');
    });

    it('refuses a receiving side in a frozen slot, and follows pinned users', () => {
      const local = userIn('cell-1');
      const slot = slotOf(local, table.slotCount);
      const snapshot = table.snapshot;
      const frozen = new RoutingTable({
        ...snapshot,
        epoch: 8n,
        slots: snapshot.slots.map((s) =>
          s.slot === slot ? { ...s, state: 'frozen' as const } : s,
        ),
      });
      expect(
        refusal(() => checkCounterpartOwnership(frozen, 'cell-1', { kind: 'user', userId: local })),
      ).toMatchObject({ reason: 'slot_frozen', cellEpoch: 8n });
      const pinned = new RoutingTable({
        ...snapshot,
        epoch: 8n,
        overrides: [{ userId: local, cellId: 'cell-2' }],
      });
      expect(
        refusal(() => checkCounterpartOwnership(pinned, 'cell-1', { kind: 'user', userId: local })),
      ).toMatchObject({ reason: 'slot_not_owned_at_epoch' });
    });

    it('leaves IDs it cannot read to the use case', () => {
      expect(() =>
        checkCounterpartOwnership(table, 'cell-1', { kind: 'account', accountId: 'pay_0006AB' }),
      ).not.toThrow();
      expect(() =>
        checkCounterpartOwnership(table, 'cell-1', { kind: 'account', accountId: 'acc_9999AB' }),
      ).not.toThrow();
    });
  });
});
