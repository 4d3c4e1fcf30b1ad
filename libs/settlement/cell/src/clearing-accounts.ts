import { Injectable } from '@nestjs/common';

import { AccountService } from '@cellpay/cell-account';
import { AccountKind } from '@cellpay/cell-domain';
import { isStressTraffic } from '@cellpay/observability';

/** At most this many (counterparty, currency) clearing account IDs are remembered per process. */
const clearingCacheSizeMax = 1_000;

/**
 * The clearing account this cell keeps for a counterparty cell and currency (docs/ledger.md's
 * chart: kind `clearing`, owner = the counterparty's cell ID). Opened on first use through the
 * account service, which answers a concurrent open with the existing account; the ID is then
 * remembered, so the money path pays for the lookup once. Stress traffic has its own clearing
 * accounts in the shadow tables (other IDs), so the memory is kept per table set.
 */
@Injectable()
export class ClearingAccounts {
  private readonly ids = new Map<string, string>();

  constructor(private readonly accounts: AccountService) {}

  async idFor(counterpartyCellId: string, currency: string): Promise<string> {
    const key = `${isStressTraffic() ? 'shadow' : 'live'}|${counterpartyCellId}|${currency}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const account = await this.accounts.openAccount({
      kind: AccountKind.Clearing,
      ownerId: counterpartyCellId,
      currency,
    });
    if (this.ids.size < clearingCacheSizeMax) this.ids.set(key, account.accountId);
    return account.accountId;
  }
}
