import {
  type Account,
  type AccountKind,
  assertInvariant,
  type Hold,
  type HoldStatus,
  type JournalKind,
  type Payment,
  type PaymentStatus,
  type Refund,
  type Transfer,
  type TransferKind,
} from '@cellpay/cell-domain';
import { type CurrencyCode, isCurrencyCode } from '@cellpay/money';
import type { RowDataPacket } from 'mysql2/promise';

/** BIGINT columns arrive as decimal strings (the pool is configured so); never as a JS number. */
export function bigintOf(row: RowDataPacket, column: string): bigint {
  const value: unknown = row[column];
  assertInvariant(
    typeof value === 'string' && /^-?\d+$/.test(value),
    `column ${column} is not a BIGINT string`,
  );
  return BigInt(value);
}

export function stringOf(row: RowDataPacket, column: string): string {
  const value: unknown = row[column];
  assertInvariant(typeof value === 'string', `column ${column} is not a string`);
  return value;
}

export function optionalStringOf(row: RowDataPacket, column: string): string | undefined {
  const value: unknown = row[column];
  return value === null || value === undefined ? undefined : String(value);
}

export function dateOf(row: RowDataPacket, column: string): Date {
  const value: unknown = row[column];
  assertInvariant(value instanceof Date, `column ${column} is not a DATETIME`);
  return value;
}

export function currencyOf(row: RowDataPacket, column = 'currency'): CurrencyCode {
  const value = stringOf(row, column);
  assertInvariant(isCurrencyCode(value), `column ${column} holds unknown currency ${value}`);
  return value;
}

export function accountOf(row: RowDataPacket): Account {
  return {
    id: stringOf(row, 'id'),
    kind: stringOf(row, 'kind') as AccountKind,
    ownerId: stringOf(row, 'owner_id'),
    currency: currencyOf(row),
    allowNegative: Number(row['allow_negative']) === 1,
    balanceMinor: bigintOf(row, 'balance_minor'),
    heldMinor: bigintOf(row, 'held_minor'),
    createdAt: dateOf(row, 'created_at'),
  };
}

export function paymentOf(row: RowDataPacket): Payment {
  const holdId = optionalStringOf(row, 'hold_id');
  const lapses: unknown = row['authorization_expires_at'];
  return {
    id: stringOf(row, 'id'),
    merchantId: stringOf(row, 'merchant_id'),
    outTradeNo: stringOf(row, 'out_trade_no'),
    payerAccountId: stringOf(row, 'payer_account_id'),
    payeeAccountId: stringOf(row, 'payee_account_id'),
    currency: currencyOf(row),
    amountMinor: bigintOf(row, 'amount_minor'),
    capturedMinor: bigintOf(row, 'captured_minor'),
    refundedMinor: bigintOf(row, 'refunded_minor'),
    status: stringOf(row, 'status') as PaymentStatus,
    ...(holdId === undefined ? {} : { holdId }),
    ...(lapses instanceof Date ? { authorizationExpiresAt: lapses } : {}),
    createdAt: dateOf(row, 'created_at'),
    updatedAt: dateOf(row, 'updated_at'),
  };
}

export function refundOf(row: RowDataPacket): Refund {
  return {
    id: stringOf(row, 'id'),
    paymentId: stringOf(row, 'payment_id'),
    merchantId: stringOf(row, 'merchant_id'),
    outRefundNo: stringOf(row, 'out_refund_no'),
    amountMinor: bigintOf(row, 'amount_minor'),
    currency: currencyOf(row),
    journalId: stringOf(row, 'journal_id'),
    createdAt: dateOf(row, 'created_at'),
  };
}

export function holdOf(row: RowDataPacket): Hold {
  return {
    id: stringOf(row, 'id'),
    accountId: stringOf(row, 'account_id'),
    amountMinor: bigintOf(row, 'amount_minor'),
    currency: currencyOf(row),
    capturedMinor: bigintOf(row, 'captured_minor'),
    status: stringOf(row, 'status') as HoldStatus,
    expiresAt: dateOf(row, 'expires_at'),
    createdAt: dateOf(row, 'created_at'),
    updatedAt: dateOf(row, 'updated_at'),
  };
}

export function transferOf(row: RowDataPacket): Transfer {
  return {
    id: stringOf(row, 'id'),
    kind: stringOf(row, 'kind') as TransferKind,
    fromAccountId: stringOf(row, 'from_account_id'),
    toAccountId: stringOf(row, 'to_account_id'),
    amountMinor: bigintOf(row, 'amount_minor'),
    currency: currencyOf(row),
    journalId: stringOf(row, 'journal_id'),
    createdAt: dateOf(row, 'created_at'),
  };
}

export function journalKindOf(row: RowDataPacket): JournalKind {
  return stringOf(row, 'kind') as JournalKind;
}
