import type { CurrencyCode } from '@cellpay/money';

import { CellError, CellErrorCode } from './cell-error';

export enum HoldStatus {
  Open = 'open',
  Captured = 'captured',
  Voided = 'voided',
  Expired = 'expired',
}

/** Funds frozen on an account: capture posts them (fully or partly), void or expiry releases them. */
export interface Hold {
  readonly id: string;
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  readonly capturedMinor: bigint;
  readonly status: HoldStatus;
  readonly expiresAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The longest a hold may stay open; authorizations are short-lived by nature. */
export const holdTtlSecondsMax = 30 * 24 * 3600;

export function requireOpenHold(hold: Hold, now: Date): Hold {
  if (hold.status !== HoldStatus.Open) {
    throw new CellError(
      CellErrorCode.InvalidStateTransition,
      `hold ${hold.id} is ${hold.status}, not open`,
    );
  }
  if (hold.expiresAt.getTime() <= now.getTime()) {
    throw new CellError(
      CellErrorCode.HoldExpired,
      `hold ${hold.id} expired at ${hold.expiresAt.toISOString()}`,
    );
  }
  return hold;
}

export function closeHold(hold: Hold, status: HoldStatus, capturedMinor: bigint, at: Date): Hold {
  if (capturedMinor > hold.amountMinor) {
    throw new CellError(
      CellErrorCode.CaptureExceedsAuthorized,
      `capture of ${capturedMinor} exceeds the ${hold.amountMinor} held by ${hold.id}`,
    );
  }
  return { ...hold, status, capturedMinor, updatedAt: at };
}
