import { type CurrencyCode } from '@cellpay/money';

import { assertInvariant, CellError, CellErrorCode } from './cell-error';

export enum AccountKind {
  UserWallet = 'user_wallet',
  Merchant = 'merchant',
  Clearing = 'clearing',
  FeeIncome = 'fee_income',
  Suspense = 'suspense',
  ExternalFunding = 'external_funding',
}

/**
 * Whether an account kind may go below zero. Customer money (wallets, merchants) never does;
 * external funding mirrors money that came in from outside and so is negative by construction;
 * clearing and suspense carry amounts in either direction until they are settled or resolved.
 */
export const negativeBalanceAllowed: Readonly<Record<AccountKind, boolean>> = {
  [AccountKind.UserWallet]: false,
  [AccountKind.Merchant]: false,
  [AccountKind.Clearing]: true,
  [AccountKind.FeeIncome]: false,
  [AccountKind.Suspense]: true,
  [AccountKind.ExternalFunding]: true,
};

/**
 * An account. `balanceMinor` is what the cell owes the holder (credits minus debits of its
 * journal lines); `heldMinor` is the part of it frozen by open holds and not available.
 */
export interface Account {
  readonly id: string;
  readonly kind: AccountKind;
  /** The user, merchant or counterparty cell the account belongs to (the cell ID for cell accounts). */
  readonly ownerId: string;
  readonly currency: CurrencyCode;
  readonly allowNegative: boolean;
  readonly balanceMinor: bigint;
  readonly heldMinor: bigint;
  readonly createdAt: Date;
}

export function isAccountKind(value: string): value is AccountKind {
  return (Object.values(AccountKind) as string[]).includes(value);
}

export function availableMinor(account: Account): bigint {
  return account.balanceMinor - account.heldMinor;
}

/** Checks an account's invariants; called after every read and before every write of money. */
export function assertAccountInvariants(account: Account): void {
  assertInvariant(account.heldMinor >= 0n, `account ${account.id} has a negative hold`);
  assertInvariant(
    account.allowNegative || availableMinor(account) >= 0n,
    `account ${account.id} is below zero without permission`,
  );
}

export function requireAccount(account: Account | undefined, id: string): Account {
  if (account === undefined) throw new CellError(CellErrorCode.AccountNotFound, `no account ${id}`);
  return account;
}

export function requireCurrency(account: Account, currency: CurrencyCode): void {
  if (account.currency !== currency) {
    throw new CellError(
      CellErrorCode.CurrencyMismatch,
      `account ${account.id} holds ${account.currency}, not ${currency}`,
    );
  }
}

/** Applies a signed change (credit positive, debit negative) under the account's rule. */
export function applyChange(account: Account, deltaMinor: bigint): Account {
  const next = { ...account, balanceMinor: account.balanceMinor + deltaMinor };
  if (deltaMinor < 0n && !next.allowNegative && availableMinor(next) < 0n) {
    throw new CellError(
      CellErrorCode.InsufficientFunds,
      `account ${account.id} has ${availableMinor(account)} available, needs ${-deltaMinor}`,
    );
  }
  return next;
}

export function freeze(account: Account, amountMinor: bigint): Account {
  if (!account.allowNegative && availableMinor(account) < amountMinor) {
    throw new CellError(
      CellErrorCode.InsufficientFunds,
      `account ${account.id} has ${availableMinor(account)} available, needs ${amountMinor}`,
    );
  }
  return { ...account, heldMinor: account.heldMinor + amountMinor };
}

export function release(account: Account, amountMinor: bigint): Account {
  assertInvariant(account.heldMinor >= amountMinor, `release exceeds hold on ${account.id}`);
  return { ...account, heldMinor: account.heldMinor - amountMinor };
}
