/** What a simulated client asks of a cell (through the gateway), by operation. */
export type CellOperation =
  | { readonly kind: 'open'; readonly userId: string }
  | {
      readonly kind: 'topUp';
      readonly clientId: string;
      readonly requestId: string;
      readonly toAccountId: string;
      readonly amountMinor: string;
    }
  | {
      readonly kind: 'transfer';
      readonly clientId: string;
      readonly requestId: string;
      readonly fromAccountId: string;
      readonly toAccountId: string;
      readonly amountMinor: string;
    }
  | {
      readonly kind: 'pay';
      readonly merchantId: string;
      readonly outTradeNo: string;
      readonly payerAccountId: string;
      readonly amountMinor: string;
    }
  | {
      readonly kind: 'authorize';
      readonly merchantId: string;
      readonly outTradeNo: string;
      readonly payerAccountId: string;
      readonly amountMinor: string;
      readonly ttlSeconds: number;
    }
  | {
      readonly kind: 'capture';
      readonly merchantId: string;
      readonly paymentId: string;
      readonly amountMinor: string;
    }
  | { readonly kind: 'void'; readonly merchantId: string; readonly paymentId: string }
  | {
      readonly kind: 'refund';
      readonly merchantId: string;
      readonly paymentId: string;
      readonly outRefundNo: string;
      readonly amountMinor: string;
    }
  | {
      readonly kind: 'crossTransfer';
      readonly clientId: string;
      readonly requestId: string;
      readonly fromAccountId: string;
      readonly toAccountId: string;
      readonly amountMinor: string;
    };

export type CellOperationKind = CellOperation['kind'];

/** A request as it reaches a cell: the operation, the slot it was routed by, the router's epoch. */
export interface CellRequest {
  readonly operationId: string;
  readonly operation: CellOperation;
  readonly slot: number;
  readonly routerEpoch: bigint;
}

/** What comes back: a result, a refusal by rule, or a retryable refusal carrying the cell's epoch. */
export type CellReply =
  | { readonly kind: 'ok'; readonly body: string }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'retryable'; readonly code: string; readonly cellEpoch: bigint };

export const simCurrency = 'CNY';
