import { Inject, Injectable } from '@nestjs/common';

import {
  type Account,
  type AccountKind,
  applyChange,
  assertAccountInvariants,
  type CellTransaction,
  type Journal,
  requireAccount,
  requireCurrency,
  requireWritableAccounts,
  signedAmount,
  type SlotOwnership,
} from '@cellpay/cell-domain';
import { GeneralLedgerPoster } from '@cellpay/cell-accounting';
import { slotOwnershipToken } from '@cellpay/cell-data-access';

export type AccountAdjustment = (accounts: Map<string, Account>) => void;

/**
 * The one place balances change: lock every account the journal touches (ascending ID order, so
 * concurrent postings never deadlock), apply each line under the account's negative-balance rule,
 * write the balances and the journal, and hand the journal to the general ledger. All of it runs in
 * the caller's transaction, next to the business record.
 *
 * Before anything is locked, every customer or merchant account of the journal must be in a slot
 * this cell owns and has not frozen at its current routing epoch: an account whose slot moved is
 * a zero-balance anchor of its history, and money posted there would be out of every user's
 * reach. The refusal is a retryable `CellError` thrown inside the caller's transaction, which
 * therefore rolls back whole, whoever the caller is (a gRPC call without routing metadata, a
 * settlement event, a maintenance job).
 */
@Injectable()
export class LedgerPoster {
  constructor(
    private readonly generalLedger: GeneralLedgerPoster,
    @Inject(slotOwnershipToken) private readonly slotOwnership: SlotOwnership,
  ) {}

  async post(
    tx: CellTransaction,
    journal: Journal,
    adjustBeforeLines?: AccountAdjustment,
  ): Promise<ReadonlyMap<string, Account>> {
    const ids = [...new Set(journal.lines.map((line) => line.accountId))];
    requireWritableAccounts(this.slotOwnership, ids);
    const locked = await tx.accounts.lockForUpdate(ids);
    const accounts = new Map<string, Account>();
    for (const id of ids) {
      const account = requireAccount(locked.get(id), id);
      assertAccountInvariants(account);
      accounts.set(id, account);
    }
    adjustBeforeLines?.(accounts);
    for (const line of journal.lines) {
      const account = requireAccount(accounts.get(line.accountId), line.accountId);
      requireCurrency(account, line.currency);
      accounts.set(account.id, applyChange(account, signedAmount(line)));
    }
    for (const account of accounts.values()) {
      assertAccountInvariants(account);
      await tx.accounts.updateBalance(account);
    }
    await tx.journals.insert(journal);
    const kindOf = new Map<string, AccountKind>(
      [...accounts.values()].map((account) => [account.id, account.kind]),
    );
    await this.generalLedger.afterJournal(tx, journal, kindOf);
    return accounts;
  }
}
