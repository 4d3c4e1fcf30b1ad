import { type Account, AccountKind } from '@cellpay/cell-domain';
import type { SettlementEvent } from '@cellpay/settlement-domain';

interface StoredView {
  readonly kind?: string;
  readonly fromAccountId?: string;
  readonly toAccountId?: string;
  readonly clearingAccountId?: string;
  readonly eventId?: string;
  readonly amountMinor?: string;
  readonly paymentId?: string;
  readonly refundId?: string;
  readonly payerAccountId?: string;
  readonly payeeAccountId?: string;
  readonly capturedMinor?: string;
  readonly payment?: { readonly payerAccountId?: string; readonly payeeAccountId?: string };
}

/**
 * What every account must hold if each applied operation took effect exactly once: built from the
 * responses the cells stored with their idempotency keys (one per key) and the settlement events
 * applied (one per event ID), never from the balances themselves.
 */
export function expectedBalances(
  keyCommits: ReadonlyMap<string, { readonly responseJson: string }>,
  appliedEvents: ReadonlyMap<string, SettlementEvent>,
  accounts: ReadonlyMap<string, Account>,
): Map<string, bigint> {
  const expected = new Map<string, bigint>();
  const move = (from: string | undefined, to: string | undefined, amount: string | undefined) => {
    if (from === undefined || to === undefined || amount === undefined) {
      throw new Error('a stored response lacks the fields the model needs');
    }
    const amountMinor = BigInt(amount);
    expected.set(from, (expected.get(from) ?? 0n) - amountMinor);
    expected.set(to, (expected.get(to) ?? 0n) + amountMinor);
  };
  for (const { responseJson } of keyCommits.values()) {
    const view = JSON.parse(responseJson) as StoredView;
    if (view.refundId !== undefined) {
      move(view.payment?.payeeAccountId, view.payment?.payerAccountId, view.amountMinor);
    } else if (view.paymentId !== undefined) {
      move(view.payerAccountId, view.payeeAccountId, view.capturedMinor);
    } else if (view.eventId !== undefined) {
      move(view.fromAccountId, view.clearingAccountId, view.amountMinor);
    } else {
      move(view.fromAccountId, view.toAccountId, view.amountMinor);
    }
  }
  for (const event of appliedEvents.values()) {
    const clearing = [...accounts.values()].find(
      (account) =>
        account.kind === AccountKind.Clearing &&
        account.ownerId === event.sourceCellId &&
        accounts.get(event.accountId) !== undefined &&
        sameCell(account.id, event.accountId, accounts),
    );
    move(clearing?.id, event.accountId, event.amountMinor.toString());
  }
  return expected;
}

/** Two accounts live in the same cell when their IDs carry the same cell tag (`C<n>`). */
function sameCell(left: string, right: string, accounts: ReadonlyMap<string, Account>): boolean {
  const tag = (id: string): string | undefined => /C(\d+)[PQ]/.exec(id.slice(8))?.[1];
  return accounts.has(left) && tag(left) === tag(right);
}
