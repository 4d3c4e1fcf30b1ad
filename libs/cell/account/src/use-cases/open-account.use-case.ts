import { Inject, Injectable } from '@nestjs/common';

import {
  type Account,
  AccountKind,
  CellError,
  CellErrorCode,
  cellOwnedSlot,
  checkCurrency,
  checkExternalId,
  type Clock,
  type IdGenerator,
  isAccountKind,
  negativeBalanceAllowed,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import {
  type CellSettings,
  cellSettingsToken,
  clockToken,
  idGeneratorToken,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';
import type { CurrencyCode } from '@cellpay/money';
import { slotOf } from '@cellpay/routing';

import { type AccountView, accountView } from '../account-views';

export interface OpenAccountRequest {
  readonly kind: string;
  readonly ownerId: string;
  readonly currency: string;
}

/** Kinds whose owner is a platform user (and so a routing slot); the rest belong to the cell. */
const userOwnedKinds: readonly AccountKind[] = [AccountKind.UserWallet, AccountKind.Merchant];

/**
 * Opens an account, or returns the existing one: an owner has at most one account per kind and
 * currency, so opening is naturally idempotent.
 */
@Injectable()
export class OpenAccountUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    @Inject(cellSettingsToken) private readonly settings: CellSettings,
  ) {}

  async execute(request: OpenAccountRequest): Promise<AccountView> {
    if (!isAccountKind(request.kind)) {
      throw new CellError(
        CellErrorCode.AccountKindNotAllowed,
        `unknown account kind '${request.kind.slice(0, 32)}'`,
      );
    }
    const kind = request.kind;
    const ownerId = checkExternalId('owner_id', request.ownerId);
    const currency = checkCurrency(request.currency);
    const slot = userOwnedKinds.includes(kind)
      ? slotOf(ownerId, this.settings.slotCount)
      : cellOwnedSlot;
    try {
      return await this.open(kind, ownerId, currency, slot);
    } catch (error) {
      // Two concurrent opens of the same account: the loser's insert hits the unique key; the
      // account it wanted exists now, so it answers like a repeated open.
      const existing = await this.unitOfWork.run('account.open', (tx) =>
        tx.accounts.findByKey(kind, ownerId, currency),
      );
      if (existing === undefined) throw error;
      return accountView(existing);
    }
  }

  private open(
    kind: AccountKind,
    ownerId: string,
    currency: CurrencyCode,
    slot: number,
  ): Promise<AccountView> {
    return this.unitOfWork.run('account.open', async (tx) => {
      const existing = await tx.accounts.findByKey(kind, ownerId, currency);
      if (existing !== undefined) return accountView(existing);
      const account: Account = {
        id: this.ids.next('account', slot),
        kind,
        ownerId,
        currency,
        allowNegative: negativeBalanceAllowed[kind],
        balanceMinor: 0n,
        heldMinor: 0n,
        createdAt: this.clock.now(),
      };
      await tx.accounts.insert(account);
      return accountView(account);
    });
  }
}
