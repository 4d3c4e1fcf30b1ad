import type { SettlementStore } from '@cellpay/settlement-cell';

import { decorated } from './decorated-store';

/** Test-only hooks that plant known bugs, to prove the simulator catches them. */
export interface PlantedBugs {
  /** The applier forgets to look in its inbox, so a redelivered event is applied again. */
  readonly skipInboxDedup?: boolean;
  /** The cell forgets to check that it owns the request's slot, unfrozen, at its epoch. */
  readonly skipSlotOwnershipCheck?: boolean;
}

/**
 * The real settlement store with its inbox made forgetful: every event claims as new, so a
 * redelivered event is applied a second time. The real store has a second guard (the answer an
 * applied event writes back has a deterministic ID, unique in the outbox), which would roll the
 * second application back; the planted bug drops that duplicate answer instead, so the double
 * credit commits and the money invariants must catch it. Only planted-bug runs use this.
 */
export function withoutInboxDedup(store: SettlementStore): SettlementStore {
  return decorated(store, (records) => ({
    claimInbox: async (entry) => {
      await records.claimInbox(entry);
      return true;
    },
    appendOutbox: async (event) => {
      await records.appendOutbox(event).catch((error: unknown) => {
        if (!String(error).includes('duplicate event')) throw error;
      });
    },
  }));
}
