import { parseId } from '@cellpay/cell-domain';
import {
  evenlySpreadSnapshot,
  RoutingTable,
  type CellRoute,
  type RoutingSnapshot,
} from '@cellpay/routing';

import type { SimCell } from '../cell/sim-cell';
import { allAccounts } from '../invariants/ledger-audit';
import type { SeededRandom } from '../world/seeded-random';
import type { VirtualScheduler } from '../world/virtual-scheduler';
import type { Trace } from './trace';

/** Pacing of routing changes, in virtual milliseconds. */
export const controlPlaneLimits = {
  /** Followers (the gateway, each cell) learn of a new epoch within this. */
  routingPropagationMsMax: 60,
  freezeMsMax: 150,
  /** How often a move looks again whether the old owner follows the freeze. */
  migrationPollMs: 10,
  slotCount: 100,
} as const;

/**
 * The simulated global zone and control plane: the authoritative routing history (one table per
 * epoch), the gateway's possibly stale copy, and the two routing changes the simulator makes in the
 * middle of traffic: freezing a slot for a while, and moving an empty slot to another cell.
 */
export class ControlPlane {
  private readonly history: RoutingTable[] = [];
  private gatewayTable: RoutingTable;
  /** Slots being frozen or moved; at most one change per slot at a time. */
  readonly busySlots = new Set<number>();
  changes = 0;

  constructor(
    cellRoutes: readonly CellRoute[],
    private readonly cells: () => readonly SimCell[],
    private readonly scheduler: VirtualScheduler,
    private readonly random: SeededRandom,
    private readonly trace: Trace,
  ) {
    const first = new RoutingTable(
      evenlySpreadSnapshot(cellRoutes, controlPlaneLimits.slotCount, 1n),
    );
    this.history.push(first);
    this.gatewayTable = first;
  }

  get latest(): RoutingTable {
    const table = this.history.at(-1);
    if (table === undefined) throw new Error('no routing table');
    return table;
  }

  get gateway(): RoutingTable {
    return this.gatewayTable;
  }

  tableAt(epoch: bigint): RoutingTable | undefined {
    return this.history.find((table) => table.epoch === epoch);
  }

  /** A retryable refusal carries the cell's epoch: the gateway then reloads the global zone's. */
  refreshGateway(): void {
    this.gatewayTable = this.latest;
  }

  freezeFor(slot: number, frozenMs: number): void {
    this.busySlots.add(slot);
    this.publish(this.withSlot(slot, { state: 'frozen' }), `freeze slot ${slot}`);
    this.scheduler.after(frozenMs, 'unfreeze', () => {
      this.publish(this.withSlot(slot, { state: 'active' }), `unfreeze slot ${slot}`);
      this.busySlots.delete(slot);
    });
  }

  /**
   * Moves a slot believed empty (moving a populated slot needs slot migration's data copy, which
   * is not built): freeze, wait until the old owner follows the freeze (or is down: it reloads the
   * table on restart), verify the slot is still empty there, then flip the owner and unfreeze.
   */
  move(slot: number, source: SimCell, target: SimCell): void {
    this.busySlots.add(slot);
    const frozen = this.publish(
      this.withSlot(slot, { state: 'frozen' }),
      `freeze slot ${slot} to move it`,
    );
    const flip = async (): Promise<void> => {
      if (source.process.up && source.routing.epoch < frozen.epoch) {
        this.scheduler.after(controlPlaneLimits.migrationPollMs, 'migration waits', flip);
        return;
      }
      // A write that reached the old owner before it followed the freeze populates the slot;
      // moving it without its data would strand that account, so the move is called off.
      const stranded = (await allAccounts(source)).filter(
        (account) => parseId(account.id, 'account').slot === slot,
      );
      if (stranded.length > 0) {
        this.publish(
          this.withSlot(slot, { state: 'active' }),
          `move of slot ${slot} aborted: ${stranded.length} accounts arrived before the freeze`,
        );
      } else {
        this.publish(
          this.withSlot(slot, { cellId: target.cellId, state: 'active' }),
          `slot ${slot} moves from ${source.cellId} to ${target.cellId}`,
        );
      }
      this.busySlots.delete(slot);
    };
    this.scheduler.after(controlPlaneLimits.migrationPollMs, 'migration waits', flip);
  }

  private publish(snapshot: RoutingSnapshot, why: string): RoutingTable {
    const table = new RoutingTable({ ...snapshot, epoch: this.latest.epoch + 1n });
    this.history.push(table);
    this.changes += 1;
    this.trace.record(`routing epoch ${table.epoch}: ${why}`);
    // Every follower learns of the change on its own time, within the propagation bound.
    const delay = (): number => this.random.int(controlPlaneLimits.routingPropagationMsMax);
    this.scheduler.after(delay(), 'gateway follows', () => {
      if (table.epoch > this.gatewayTable.epoch) this.gatewayTable = table;
    });
    for (const cell of this.cells()) {
      this.scheduler.after(delay(), `${cell.cellId} follows`, () => cell.adoptRouting(table));
    }
    return table;
  }

  private withSlot(
    slot: number,
    change: { readonly cellId?: string; readonly state: 'active' | 'frozen' },
  ): RoutingSnapshot {
    const snapshot = this.latest.snapshot;
    return {
      ...snapshot,
      slots: snapshot.slots.map((route) =>
        route.slot === slot
          ? { ...route, cellId: change.cellId ?? route.cellId, state: change.state }
          : route,
      ),
    };
  }
}
