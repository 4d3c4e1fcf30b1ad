import {
  RoutingTable,
  RoutingTableError,
  evenlySpreadSnapshot,
  type CellRoute,
} from './routing-table';
import { slotOf } from './slot';

const cell = (cellId: string): CellRoute => ({
  cellId,
  homeRegion: 'region-a',
  standbyRegion: 'region-b',
  activeRegion: 'region-a',
  state: 'active',
});
const cells = [cell('cell-1'), cell('cell-2'), cell('cell-3')];

describe('RoutingTable', () => {
  it('spreads slots evenly and routes a user to the owner of its slot', () => {
    const table = new RoutingTable(evenlySpreadSnapshot(cells, 100, 7n));
    expect(table.slotsOf('cell-1')).toHaveLength(34);
    expect(table.slotsOf('cell-2')).toHaveLength(33);
    expect(table.slotsOf('cell-3')).toHaveLength(33);
    const slot = slotOf('user-1', 100);
    const decision = table.routeUser('user-1');
    expect(decision).toEqual({ kind: 'route', cellId: expect.any(String), slot, epoch: 7n });
    expect(table.ownsSlot(decision.cellId, slot)).toBe(true);
  });

  it('sends pinned users to their override cell and frozen slots back as frozen', () => {
    const base = evenlySpreadSnapshot(cells, 10);
    const slot = slotOf('vip', 10);
    const snapshot = {
      ...base,
      slots: base.slots.map((s) => (s.slot === slot ? { ...s, state: 'frozen' as const } : s)),
      overrides: [{ userId: 'pinned', cellId: 'cell-3' }],
    };
    const table = new RoutingTable(snapshot);
    expect(table.routeUser('pinned').cellId).toBe('cell-3');
    expect(table.routeUser('vip').kind).toBe('frozen');
  });

  it.each([
    [
      'a slot assigned twice',
      (s: ReturnType<typeof evenlySpreadSnapshot>) => ({
        ...s,
        slots: [...s.slots, { slot: 0, cellId: 'cell-2', state: 'active' as const }],
      }),
      /slot 0 is assigned twice/,
    ],
    [
      'a slot without a cell',
      (s: ReturnType<typeof evenlySpreadSnapshot>) => ({ ...s, slots: s.slots.slice(1) }),
      /slot 0 has no cell/,
    ],
    [
      'a slot pointing at an unknown cell',
      (s: ReturnType<typeof evenlySpreadSnapshot>) => ({
        ...s,
        slots: s.slots.map((r) => (r.slot === 3 ? { ...r, cellId: 'cell-9' } : r)),
      }),
      /slot 3 points at unknown cell cell-9/,
    ],
    [
      'a slot out of range',
      (s: ReturnType<typeof evenlySpreadSnapshot>) => ({
        ...s,
        slots: [...s.slots, { slot: 10, cellId: 'cell-1', state: 'active' as const }],
      }),
      /slot 10 is outside 0..9/,
    ],
    [
      'an override to an unknown cell',
      (s: ReturnType<typeof evenlySpreadSnapshot>) => ({
        ...s,
        overrides: [{ userId: 'u', cellId: 'cell-0' }],
      }),
      /override for u/,
    ],
    [
      'a cell listed twice',
      (s: ReturnType<typeof evenlySpreadSnapshot>) => ({
        ...s,
        cells: [...s.cells, cell('cell-1')],
      }),
      /cell cell-1 listed twice/,
    ],
  ])('refuses %s', (_name, mutate, message) => {
    const snapshot = mutate(evenlySpreadSnapshot(cells, 10));
    expect(() => new RoutingTable(snapshot)).toThrow(RoutingTableError);
    expect(() => new RoutingTable(snapshot)).toThrow(message);
  });
});
