/**
 * What a client sees of a cross-cell operation through the query API. A payment or transfer is
 * `settling` from the moment the payer's cell commits (the payer already sees success) until the
 * payee's cell confirms; a refund of a cross-cell payment is `pending` until the payee's cell
 * debits the merchant or refuses.
 */
export enum SettlementState {
  /** Same-cell operation: nothing to settle. */
  Local = 'local',
  Settling = 'settling',
  Settled = 'settled',
}

export enum CrossCellRefundState {
  Pending = 'pending',
  Succeeded = 'succeeded',
  /** The merchant's cell refused (for example, insufficient funds); the payer was not credited. */
  Failed = 'failed',
}

const settlementTransitions: Readonly<Record<SettlementState, readonly SettlementState[]>> = {
  [SettlementState.Local]: [],
  [SettlementState.Settling]: [SettlementState.Settled],
  [SettlementState.Settled]: [],
};

const refundTransitions: Readonly<Record<CrossCellRefundState, readonly CrossCellRefundState[]>> = {
  [CrossCellRefundState.Pending]: [CrossCellRefundState.Succeeded, CrossCellRefundState.Failed],
  [CrossCellRefundState.Succeeded]: [],
  [CrossCellRefundState.Failed]: [],
};

export function canSettle(from: SettlementState, to: SettlementState): boolean {
  return settlementTransitions[from].includes(to);
}

export function canFinishRefund(from: CrossCellRefundState, to: CrossCellRefundState): boolean {
  return refundTransitions[from].includes(to);
}
