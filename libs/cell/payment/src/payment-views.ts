import type { Payment, Refund } from '@cellpay/cell-domain';

/** What the payment service returns; JSON-safe, amounts as decimal strings of minor units. */
export interface PaymentView {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly outTradeNo: string;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly currency: string;
  readonly amountMinor: string;
  readonly capturedMinor: string;
  readonly refundedMinor: string;
  readonly status: string;
  readonly holdId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RefundView {
  readonly refundId: string;
  readonly paymentId: string;
  readonly outRefundNo: string;
  readonly amountMinor: string;
  readonly currency: string;
  readonly journalId: string;
  readonly createdAt: string;
  readonly payment: PaymentView;
}

export function paymentView(payment: Payment): PaymentView {
  return {
    paymentId: payment.id,
    merchantId: payment.merchantId,
    outTradeNo: payment.outTradeNo,
    payerAccountId: payment.payerAccountId,
    payeeAccountId: payment.payeeAccountId,
    currency: payment.currency,
    amountMinor: payment.amountMinor.toString(),
    capturedMinor: payment.capturedMinor.toString(),
    refundedMinor: payment.refundedMinor.toString(),
    status: payment.status,
    holdId: payment.holdId ?? '',
    createdAt: payment.createdAt.toISOString(),
    updatedAt: payment.updatedAt.toISOString(),
  };
}

export function refundView(refund: Refund, payment: Payment): RefundView {
  return {
    refundId: refund.id,
    paymentId: refund.paymentId,
    outRefundNo: refund.outRefundNo,
    amountMinor: refund.amountMinor.toString(),
    currency: refund.currency,
    journalId: refund.journalId,
    createdAt: refund.createdAt.toISOString(),
    payment: paymentView(payment),
  };
}
