import type { CurrencyCode } from '@cellpay/money';

import { CellError, CellErrorCode } from './cell-error';

export enum PaymentStatus {
  Created = 'created',
  Authorized = 'authorized',
  Captured = 'captured',
  PartlyCaptured = 'partly_captured',
  PartlyRefunded = 'partly_refunded',
  Refunded = 'refunded',
  Voided = 'voided',
  Expired = 'expired',
  Failed = 'failed',
}

/** Every allowed move of the payment state machine; anything else is `invalid_state_transition`. */
export const paymentTransitions: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  [PaymentStatus.Created]: [PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Failed],
  [PaymentStatus.Authorized]: [
    PaymentStatus.Captured,
    PaymentStatus.PartlyCaptured,
    PaymentStatus.Voided,
    PaymentStatus.Expired,
  ],
  [PaymentStatus.Captured]: [PaymentStatus.PartlyRefunded, PaymentStatus.Refunded],
  [PaymentStatus.PartlyCaptured]: [PaymentStatus.PartlyRefunded, PaymentStatus.Refunded],
  [PaymentStatus.PartlyRefunded]: [PaymentStatus.PartlyRefunded, PaymentStatus.Refunded],
  [PaymentStatus.Refunded]: [],
  [PaymentStatus.Voided]: [],
  [PaymentStatus.Expired]: [],
  [PaymentStatus.Failed]: [],
};

export function isPaymentStatus(value: string): value is PaymentStatus {
  return (Object.values(PaymentStatus) as string[]).includes(value);
}

export interface Payment {
  readonly id: string;
  readonly merchantId: string;
  readonly outTradeNo: string;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly currency: CurrencyCode;
  /** The amount paid in one step, or authorized. */
  readonly amountMinor: bigint;
  readonly capturedMinor: bigint;
  readonly refundedMinor: bigint;
  readonly status: PaymentStatus;
  readonly holdId?: string;
  /** Authorizations only: when the hold lapses and the payment expires. */
  readonly authorizationExpiresAt?: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export function transition(payment: Payment, to: PaymentStatus, at: Date): Payment {
  if (!paymentTransitions[payment.status].includes(to)) {
    throw new CellError(
      CellErrorCode.InvalidStateTransition,
      `payment ${payment.id} cannot go from ${payment.status} to ${to}`,
    );
  }
  return { ...payment, status: to, updatedAt: at };
}

export function capturePayment(payment: Payment, amountMinor: bigint, at: Date): Payment {
  if (amountMinor > payment.amountMinor) {
    throw new CellError(
      CellErrorCode.CaptureExceedsAuthorized,
      `capture of ${amountMinor} exceeds the ${payment.amountMinor} authorized on ${payment.id}`,
    );
  }
  const status =
    amountMinor === payment.amountMinor ? PaymentStatus.Captured : PaymentStatus.PartlyCaptured;
  return { ...transition(payment, status, at), capturedMinor: amountMinor };
}

export function refundPayment(payment: Payment, amountMinor: bigint, at: Date): Payment {
  const refundedMinor = payment.refundedMinor + amountMinor;
  // Fully refunded counts as refundable here: one more refund breaks "never more than captured",
  // and that is the rule to report, not the state machine's refusal of refunded -> refunded.
  const refundable = [
    PaymentStatus.Captured,
    PaymentStatus.PartlyCaptured,
    PaymentStatus.PartlyRefunded,
    PaymentStatus.Refunded,
  ].includes(payment.status);
  if (refundable && refundedMinor > payment.capturedMinor) {
    throw new CellError(
      CellErrorCode.RefundExceedsCaptured,
      `refunds of ${refundedMinor} would exceed the ${payment.capturedMinor} captured on ${payment.id}`,
    );
  }
  const status =
    refundedMinor === payment.capturedMinor ? PaymentStatus.Refunded : PaymentStatus.PartlyRefunded;
  return { ...transition(payment, status, at), refundedMinor };
}

export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly outRefundNo: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  readonly journalId: string;
  readonly createdAt: Date;
}
