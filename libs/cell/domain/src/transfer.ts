import type { CurrencyCode } from '@cellpay/money';

export enum TransferKind {
  TopUp = 'top_up',
  Transfer = 'transfer',
  HoldCapture = 'hold_capture',
}

/** The business record of a top-up, a transfer between two accounts or a hold capture. */
export interface Transfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  readonly journalId: string;
  readonly createdAt: Date;
}
