/** Refusals of the cross-cell use cases that the cell core has no code for. */
export enum SettlementErrorCode {
  /** The payee lives in this cell: the local use case applies, not the cross-cell one. */
  PayeeInThisCell = 'payee_in_this_cell',
  /** The payment settled inside one cell; refund it with the local refund. */
  PaymentNotCrossCell = 'payment_not_cross_cell',
  SagaNotFound = 'saga_not_found',
  /** No refund with this ID among the calling merchant's (another merchant's is not revealed). */
  RefundNotFound = 'refund_not_found',
}

export class SettlementError extends Error {
  constructor(
    readonly code: SettlementErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SettlementError';
  }
}
