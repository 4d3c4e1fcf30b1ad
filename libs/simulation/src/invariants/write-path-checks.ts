import type { SettlementEvent } from '@cellpay/settlement-domain';
import type { RoutingTable } from '@cellpay/routing';

import { InvariantName, type ViolationLog } from './violation';

/**
 * The invariants checked the moment something commits: an idempotency key completes at most once
 * in the whole platform, a settlement event applies at most once, and a cell writes a slot only
 * when it owns it, unfrozen, at its epoch, never behind another cell that wrote it at a later one.
 */
export class WritePathChecks {
  readonly keyCommits = new Map<string, { cellId: string; responseJson: string }>();
  readonly appliedEvents = new Map<string, SettlementEvent>();
  private readonly lastApplyOfSlot = new Map<number, { cellId: string; epoch: bigint }>();

  constructor(
    private readonly violations: ViolationLog,
    private readonly tableAt: (epoch: bigint) => RoutingTable | undefined,
  ) {}

  requestCommitted(cellId: string, slot: number, epoch: bigint): void {
    const table = this.tableAt(epoch);
    if (table === undefined || !table.ownsSlot(cellId, slot)) {
      this.violations.report(
        InvariantName.SlotOwnedAtEpoch,
        `${cellId} applied a request for slot ${slot} at epoch ${epoch}, which it did not own`,
      );
    } else if (table.routeSlot(slot).kind === 'frozen') {
      this.violations.report(
        InvariantName.SlotOwnedAtEpoch,
        `${cellId} applied a request for slot ${slot} at epoch ${epoch}, while the slot was frozen`,
      );
    }
    const last = this.lastApplyOfSlot.get(slot);
    if (last !== undefined && last.cellId !== cellId && epoch < last.epoch) {
      this.violations.report(
        InvariantName.SlotOwnedAtEpoch,
        `${cellId} applied slot ${slot} at epoch ${epoch} after ${last.cellId} did at ${last.epoch}`,
      );
    }
    if (last === undefined || epoch >= last.epoch)
      this.lastApplyOfSlot.set(slot, { cellId, epoch });
  }

  keyCommitted(cellId: string, key: string, responseJson: string): void {
    const previous = this.keyCommits.get(key);
    if (previous !== undefined) {
      this.violations.report(
        InvariantName.AppliedExactlyOnce,
        `operation ${key} was applied twice (${previous.cellId}, then ${cellId})`,
      );
      return;
    }
    this.keyCommits.set(key, { cellId, responseJson });
  }

  /** False when the event had been applied before (a violation, already reported). */
  eventApplied(cellId: string, event: SettlementEvent): boolean {
    if (this.appliedEvents.has(event.eventId)) {
      this.violations.report(
        InvariantName.AppliedExactlyOnce,
        `settlement event ${event.eventId} was applied twice in ${cellId}`,
      );
      return false;
    }
    this.appliedEvents.set(event.eventId, event);
    return true;
  }

  /** Money that came in: the top-ups applied, one per idempotency key. */
  moneyInMinor(): bigint {
    let total = 0n;
    for (const { responseJson } of this.keyCommits.values()) {
      const view = JSON.parse(responseJson) as { kind?: string; amountMinor?: string };
      if (view.kind === 'top_up' && view.amountMinor !== undefined) {
        total += BigInt(view.amountMinor);
      }
    }
    return total;
  }
}
