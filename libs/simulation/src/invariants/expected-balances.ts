import { type Account, AccountKind } from '@cellpay/cell-domain';
import { type SettlementEvent, SettlementEventType } from '@cellpay/settlement-domain';

interface StoredView {
  readonly kind?: string;
  readonly fromAccountId?: string;
  readonly toAccountId?: string;
  /** A cross-cell saga (the payer's side of a cross-cell transfer). */
  readonly sagaId?: string;
  readonly counterpartyCellId?: string;
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
 * applied (one per event ID), never from the balances themselves. A cross-cell transfer's stored
 * response is its saga, which names the other cell but not the payer: `crossTransferPayers` gives
 * the payer account of each such key, from the requests the workload sent.
 */
export function expectedBalances(
  keyCommits: ReadonlyMap<string, { readonly responseJson: string }>,
  appliedEvents: ReadonlyMap<string, SettlementEvent>,
  accounts: ReadonlyMap<string, Account>,
  crossTransferPayers: ReadonlyMap<string, string>,
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
  /** The clearing account for `counterpartyCellId` in the cell of `accountId`. */
  const clearingBeside = (accountId: string | undefined, counterpartyCellId: string | undefined) =>
    [...accounts.values()].find(
      (account) =>
        account.kind === AccountKind.Clearing &&
        account.ownerId === counterpartyCellId &&
        accountId !== undefined &&
        sameCell(account.id, accountId, accounts),
    )?.id;
  for (const [key, { responseJson }] of keyCommits) {
    const view = JSON.parse(responseJson) as StoredView;
    if (view.sagaId !== undefined) {
      const payer = crossTransferPayers.get(key);
      move(payer, clearingBeside(payer, view.counterpartyCellId), view.amountMinor);
    } else if (view.refundId !== undefined) {
      move(view.payment?.payeeAccountId, view.payment?.payerAccountId, view.amountMinor);
    } else if (view.paymentId !== undefined) {
      move(view.payerAccountId, view.payeeAccountId, view.capturedMinor);
    } else {
      move(view.fromAccountId, view.toAccountId, view.amountMinor);
    }
  }
  for (const event of appliedEvents.values()) {
    // Only credit requests move money in this workload; confirmations back carry no money.
    if (event.type !== SettlementEventType.CreditRequested) continue;
    move(
      clearingBeside(event.accountId, event.sourceCellId),
      event.accountId,
      event.amountMinor.toString(),
    );
  }
  return expected;
}

/** Two accounts live in the same cell when their IDs carry the same cell tag (`C<n>`). */
function sameCell(left: string, right: string, accounts: ReadonlyMap<string, Account>): boolean {
  const tag = (id: string): string | undefined => /C(\d+)[PQ]/.exec(id.slice(8))?.[1];
  return accounts.has(left) && tag(left) === tag(right);
}
