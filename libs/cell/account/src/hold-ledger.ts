import { Inject, Injectable } from '@nestjs/common';

import {
  assertAccountInvariants,
  type CellTransaction,
  CellError,
  CellErrorCode,
  type Clock,
  closeHold,
  freeze,
  type Hold,
  HoldStatus,
  type IdGenerator,
  type Journal,
  type JournalKind,
  movement,
  parseId,
  release,
  requireAccount,
  requireCurrency,
  requireOpenHold,
  requireWritableAccounts,
  type SlotOwnership,
} from '@cellpay/cell-domain';
import { clockToken, idGeneratorToken, slotOwnershipToken } from '@cellpay/cell-data-access';
import type { CurrencyCode } from '@cellpay/money';

import { LedgerPoster } from './ledger-poster';

/**
 * Two-phase money on one account: place freezes funds, capture posts part or all of them to
 * another account and releases the rest, void and expiry release everything. Used by the account
 * service's hold API and by the payment service's authorize/capture/void, inside their transactions.
 */
@Injectable()
export class HoldLedger {
  constructor(
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    private readonly ledger: LedgerPoster,
    @Inject(slotOwnershipToken) private readonly slotOwnership: SlotOwnership,
  ) {}

  async place(
    tx: CellTransaction,
    accountId: string,
    amountMinor: bigint,
    currency: CurrencyCode,
    expiresAt: Date,
  ): Promise<Hold> {
    // A hold changes the held amount outside the ledger poster: it obeys the same slot rule.
    // Releases need no check: the holds of a moved slot leave this cell with it.
    requireWritableAccounts(this.slotOwnership, [accountId]);
    const locked = await tx.accounts.lockForUpdate([accountId]);
    const account = requireAccount(locked.get(accountId), accountId);
    requireCurrency(account, currency);
    const frozen = freeze(account, amountMinor);
    assertAccountInvariants(frozen);
    await tx.accounts.updateBalance(frozen);
    const now = this.clock.now();
    const hold: Hold = {
      id: this.ids.next('hold', parseId(accountId, 'account').slot),
      accountId,
      amountMinor,
      currency,
      capturedMinor: 0n,
      status: HoldStatus.Open,
      expiresAt,
      createdAt: now,
      updatedAt: now,
    };
    await tx.holds.insert(hold);
    return hold;
  }

  async capture(
    tx: CellTransaction,
    holdId: string,
    toAccountId: string,
    amountMinor: bigint,
    journal: { readonly kind: JournalKind; readonly referenceId: string },
  ): Promise<{ readonly hold: Hold; readonly journal: Journal }> {
    const hold = requireOpenHold(await this.lockHold(tx, holdId), this.clock.now());
    const now = this.clock.now();
    const closed = closeHold(hold, HoldStatus.Captured, amountMinor, now);
    const posted = movement(
      {
        id: this.ids.next('journal', parseId(holdId, 'hold').slot),
        kind: journal.kind,
        referenceId: journal.referenceId,
        createdAt: now,
      },
      hold.accountId,
      toAccountId,
      amountMinor,
      hold.currency,
    );
    await this.ledger.post(tx, posted, (accounts) => {
      const holder = requireAccount(accounts.get(hold.accountId), hold.accountId);
      accounts.set(holder.id, release(holder, hold.amountMinor));
    });
    await tx.holds.update(closed);
    return { hold: closed, journal: posted };
  }

  /** Releases an open hold as voided (on request) or expired (past its time). */
  async release(
    tx: CellTransaction,
    holdId: string,
    status: HoldStatus.Voided | HoldStatus.Expired,
  ): Promise<Hold> {
    const hold = await this.lockHold(tx, holdId);
    if (hold.status !== HoldStatus.Open) {
      throw new CellError(
        CellErrorCode.InvalidStateTransition,
        `hold ${hold.id} is ${hold.status}, not open`,
      );
    }
    const locked = await tx.accounts.lockForUpdate([hold.accountId]);
    const released = release(
      requireAccount(locked.get(hold.accountId), hold.accountId),
      hold.amountMinor,
    );
    assertAccountInvariants(released);
    await tx.accounts.updateBalance(released);
    const closed = closeHold(hold, status, 0n, this.clock.now());
    await tx.holds.update(closed);
    return closed;
  }

  private async lockHold(tx: CellTransaction, holdId: string): Promise<Hold> {
    const hold = await tx.holds.lockForUpdate(holdId);
    if (hold === undefined) throw new CellError(CellErrorCode.HoldNotFound, `no hold ${holdId}`);
    return hold;
  }
}
