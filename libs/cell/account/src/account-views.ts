import type { Account, Hold, StatementLine, Transfer } from '@cellpay/cell-domain';

/**
 * What the account service returns: plain JSON-safe objects, amounts as decimal strings of minor
 * units (int64 on the wire), times as ISO-8601 strings. Idempotent responses are stored in this form.
 */
export interface AccountView {
  readonly accountId: string;
  readonly kind: string;
  readonly ownerId: string;
  readonly currency: string;
  readonly allowNegative: boolean;
  readonly balanceMinor: string;
  readonly heldMinor: string;
  readonly availableMinor: string;
  readonly createdAt: string;
}

export interface TransferView {
  readonly transferId: string;
  readonly kind: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amountMinor: string;
  readonly currency: string;
  readonly journalId: string;
  readonly createdAt: string;
}

export interface HoldView {
  readonly holdId: string;
  readonly accountId: string;
  readonly amountMinor: string;
  readonly capturedMinor: string;
  readonly currency: string;
  readonly status: string;
  readonly expiresAt: string;
}

export interface StatementLineView {
  readonly journalId: string;
  readonly journalKind: string;
  readonly direction: string;
  readonly amountMinor: string;
  readonly currency: string;
  readonly createdAt: string;
}

export interface StatementView {
  readonly accountId: string;
  readonly lines: readonly StatementLineView[];
  readonly nextCursor: string;
}

export function accountView(account: Account): AccountView {
  return {
    accountId: account.id,
    kind: account.kind,
    ownerId: account.ownerId,
    currency: account.currency,
    allowNegative: account.allowNegative,
    balanceMinor: account.balanceMinor.toString(),
    heldMinor: account.heldMinor.toString(),
    availableMinor: (account.balanceMinor - account.heldMinor).toString(),
    createdAt: account.createdAt.toISOString(),
  };
}

export function transferView(transfer: Transfer): TransferView {
  return {
    transferId: transfer.id,
    kind: transfer.kind,
    fromAccountId: transfer.fromAccountId,
    toAccountId: transfer.toAccountId,
    amountMinor: transfer.amountMinor.toString(),
    currency: transfer.currency,
    journalId: transfer.journalId,
    createdAt: transfer.createdAt.toISOString(),
  };
}

export function holdView(hold: Hold): HoldView {
  return {
    holdId: hold.id,
    accountId: hold.accountId,
    amountMinor: hold.amountMinor.toString(),
    capturedMinor: hold.capturedMinor.toString(),
    currency: hold.currency,
    status: hold.status,
    expiresAt: hold.expiresAt.toISOString(),
  };
}

export function statementLineView(line: StatementLine): StatementLineView {
  return {
    journalId: line.journalId,
    journalKind: line.journalKind,
    direction: line.direction,
    amountMinor: line.amountMinor.toString(),
    currency: line.currency,
    createdAt: line.createdAt.toISOString(),
  };
}
