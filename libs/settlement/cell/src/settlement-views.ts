import type { TransferView } from '@cellpay/cell-account';
import type { Payment } from '@cellpay/cell-domain';
import { paymentView, type PaymentView, type RefundView } from '@cellpay/cell-payment';
import { SettlementState } from '@cellpay/settlement-domain';

import type { SagaRecord } from './settlement-records';

/** What the query API shows of a cross-cell saga; JSON-safe, amounts as decimal strings. */
export interface SagaView {
  readonly sagaId: string;
  readonly kind: string;
  /** `settling` / `settled` for payments and transfers; `pending` / `succeeded` / `failed` for refunds. */
  readonly state: string;
  readonly counterpartyCellId: string;
  readonly paymentId: string;
  readonly amountMinor: string;
  readonly currency: string;
  readonly reason: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function sagaView(saga: SagaRecord): SagaView {
  return {
    sagaId: saga.sagaId,
    kind: saga.kind,
    state: saga.state,
    counterpartyCellId: saga.counterpartyCellId,
    paymentId: saga.paymentId ?? '',
    amountMinor: saga.amountMinor.toString(),
    currency: saga.currency,
    reason: saga.reason ?? '',
    createdAt: saga.createdAt.toISOString(),
    updatedAt: saga.updatedAt.toISOString(),
  };
}

/** A payment as the settlement-aware API shows it: its record plus where its money stands. */
export interface SettledPaymentView {
  readonly payment: PaymentView;
  /** `local` (payer and merchant in this cell), `settling` or `settled`. */
  readonly settlementState: string;
}

/** A refund, local or cross-cell, with its outcome. */
export interface SettledRefundView {
  readonly refund: RefundView;
  /** `succeeded`; a cross-cell refund `pending`, `succeeded` or `failed`. */
  readonly status: string;
  /** Why a cross-cell refund failed (the merchant's cell's refusal); empty otherwise. */
  readonly failureReason: string;
  /** The settlement state of the refunded payment. */
  readonly paymentSettlementState: string;
}

/** A wallet transfer with where its money stands (`local`, `settling`, `settled`). */
export interface SettledTransferView {
  readonly transfer: TransferView;
  readonly settlementState: string;
}

export function settledPaymentView(
  payment: Payment,
  saga: SagaRecord | undefined,
): SettledPaymentView {
  return { payment: paymentView(payment), settlementState: saga?.state ?? SettlementState.Local };
}
