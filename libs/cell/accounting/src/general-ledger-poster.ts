import { Inject, Injectable } from '@nestjs/common';

import {
  type AccountKind,
  type CellTransaction,
  type Clock,
  type GlPostingSwitch,
  type Journal,
  voucherOf,
} from '@cellpay/cell-domain';
import { clockToken, glPostingSwitchToken } from '@cellpay/cell-data-access';

/**
 * Turns journals into general-ledger vouchers. In synchronous mode the voucher is written in the
 * journal's own transaction; with the deferral switch on it is left to the catch-up, so the money
 * path does not pay for bookkeeping at peak. Journals themselves are never deferred.
 */
@Injectable()
export class GeneralLedgerPoster {
  constructor(
    @Inject(glPostingSwitchToken) private readonly glPostingSwitch: GlPostingSwitch,
    @Inject(clockToken) private readonly clock: Clock,
  ) {}

  async afterJournal(
    tx: CellTransaction,
    journal: Journal,
    kindOf: ReadonlyMap<string, AccountKind>,
  ): Promise<void> {
    if (this.glPostingSwitch.isGlPostingDeferred()) return;
    await tx.generalLedger.insertVoucher(voucherOf(journal, kindOf, this.clock.now()));
  }

  /** Posts up to `limit` unposted journals in one transaction; returns how many it posted. */
  async postBacklog(tx: CellTransaction, limit: number): Promise<number> {
    const journals = await tx.generalLedger.listUnpostedJournals(limit);
    const kindOf = new Map<string, AccountKind>();
    for (const journal of journals) {
      for (const line of journal.lines) {
        if (kindOf.has(line.accountId)) continue;
        const account = await tx.accounts.findById(line.accountId);
        if (account !== undefined) kindOf.set(account.id, account.kind);
      }
      await tx.generalLedger.insertVoucher(voucherOf(journal, kindOf, this.clock.now()));
    }
    return journals.length;
  }
}
