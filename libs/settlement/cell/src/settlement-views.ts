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
