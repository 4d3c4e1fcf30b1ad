import type { Principal, Scope } from '@cellpay/gateway-edge';
import { GatewayError, GatewayErrorCode } from '@cellpay/gateway-edge';
import type { publicV1 } from '@cellpay/proto';

import type { CellCall } from './cell-client';

/** Where a call goes: the owner of a slot, the cell of a user, or every cell (a search). */
export type RouteKey =
  | { readonly kind: 'slot'; readonly slot: number }
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'every_cell' };
/** A route to exactly one cell. */
export type DirectRoute = Exclude<RouteKey, { kind: 'every_cell' }>;

/**
 * Where the call's parties live by the gateway's table: `crossCell` when the counterpart (the
 * merchant of a payment, the receiver of a transfer) lives in another cell than the routed party.
 */
export interface Placement {
  readonly crossCell: boolean;
}

/** Calls the chosen cell (deadline, epoch and slot metadata are added by the caller). */
export type CellInvoker = (
  call: Pick<CellCall, 'service' | 'method' | 'request'>,
) => Promise<Record<string, unknown>>;

type Request = Record<string, unknown>;

/**
 * One public method: the scope it needs, how it is routed, and how it becomes cell calls. No
 * business rule lives here: the cell decides; the gateway only translates and routes. The merchant
 * of a payment call is always the caller, never a field of the request, which is what makes
 * another merchant's payment unreachable (the cell answers payment_not_found).
 */
export interface PublicOperation {
  readonly service: 'Payments' | 'Wallets';
  readonly method: string;
  readonly scope: Scope;
  /**
   * Every operation here is safe to send twice: mutations carry an idempotency key the cell
   * enforces (out_trade_no, out_refund_no, request_id, or the payment's state for capture and
   * void), reads change nothing. So a transport failure may be retried once.
   */
  readonly retryable: boolean;
  route(request: Request): RouteKey;
  /**
   * The party money moves to (a payment's merchant, a transfer's receiver). When it lives in
   * another cell the call is cross-cell; the routed cell checks that again with its own table.
   */
  counterpart?(request: Request, principal: Principal): DirectRoute;
  forward(
    cell: CellInvoker,
    request: Request,
    principal: Principal,
    placement: Placement,
  ): Promise<object>;
}

export const publicIdPattern = /^(acc|pay|rfd|trf)_(\d{4})[0-9A-Za-z]{8,32}$/;
/** Accounts the cell owns itself carry this slot; no client may name them. */
const cellOwnedSlot = 9999;

/** The slot embedded in an ID the platform handed out; anything else is malformed_id. */
export function slotOfId(value: unknown, prefix: 'acc' | 'pay' | 'rfd', field: string): number {
  const text = typeof value === 'string' ? value : '';
  if (text === '') {
    throw new GatewayError(GatewayErrorCode.FieldRequired, `${field} is required`, { field });
  }
  const match = publicIdPattern.exec(text);
  if (match === null || match[1] !== prefix || Number(match[2]) === cellOwnedSlot) {
    throw new GatewayError(
      GatewayErrorCode.MalformedId,
      `${field} is not a ${prefix}_ ID the platform handed out`,
      { field },
    );
  }
  return Number(match[2]);
}

function text(request: Request, field: string): string {
  const value = request[field];
  return typeof value === 'string' ? value : '';
}

function money(request: Request): { amountMinor: string; currency: string } {
  const amount = (request['amount'] ?? {}) as Request;
  return { amountMinor: text(amount, 'amountMinor'), currency: text(amount, 'currency') };
}

function presentPayment(view: Record<string, unknown>, settlementState: string): publicV1.Payment {
  return {
    paymentId: String(view['paymentId'] ?? ''),
    merchantId: String(view['merchantId'] ?? ''),
    outTradeNo: String(view['outTradeNo'] ?? ''),
    payerAccountId: String(view['payerAccountId'] ?? ''),
    payeeAccountId: String(view['payeeAccountId'] ?? ''),
    currency: String(view['currency'] ?? ''),
    amountMinor: String(view['amountMinor'] ?? '0'),
    capturedMinor: String(view['capturedMinor'] ?? '0'),
    refundedMinor: String(view['refundedMinor'] ?? '0'),
    status: String(view['status'] ?? ''),
    createdAt: String(view['createdAt'] ?? ''),
    updatedAt: String(view['updatedAt'] ?? ''),
    settlementState,
  };
}

/** A cell's `SettledPayment`: the payment and where its money stands. */
function presentSettledPayment(settled: Record<string, unknown>): publicV1.Payment {
  return presentPayment(
    (settled['payment'] ?? {}) as Record<string, unknown>,
    String(settled['settlementState'] ?? ''),
  );
}

/** A cell's `SettledRefund`: the refund, its outcome and its payment. */
function presentSettledRefund(settled: Record<string, unknown>): publicV1.PaymentRefund {
  const refund = (settled['refund'] ?? {}) as Record<string, unknown>;
  return {
    refundId: String(refund['refundId'] ?? ''),
    paymentId: String(refund['paymentId'] ?? ''),
    outRefundNo: String(refund['outRefundNo'] ?? ''),
    amountMinor: String(refund['amountMinor'] ?? '0'),
    currency: String(refund['currency'] ?? ''),
    createdAt: String(refund['createdAt'] ?? ''),
    payment: presentPayment(
      (refund['payment'] ?? {}) as Record<string, unknown>,
      String(settled['paymentSettlementState'] ?? ''),
    ),
    status: String(settled['status'] ?? ''),
    failureReason: String(settled['failureReason'] ?? ''),
  };
}

function presentAccount(view: Record<string, unknown>): publicV1.Account {
  return {
    accountId: String(view['accountId'] ?? ''),
    kind: String(view['kind'] ?? ''),
    ownerId: String(view['ownerId'] ?? ''),
    currency: String(view['currency'] ?? ''),
    balanceMinor: String(view['balanceMinor'] ?? '0'),
    heldMinor: String(view['heldMinor'] ?? '0'),
    availableMinor: String(view['availableMinor'] ?? '0'),
    createdAt: String(view['createdAt'] ?? ''),
  };
}

function presentTransfer(
  view: Record<string, unknown>,
  settlementState: string,
): publicV1.WalletTransfer {
  return {
    transferId: String(view['transferId'] ?? ''),
    kind: String(view['kind'] ?? ''),
    fromAccountId: String(view['fromAccountId'] ?? ''),
    toAccountId: String(view['toAccountId'] ?? ''),
    amount: {
      amountMinor: String(view['amountMinor'] ?? '0'),
      currency: String(view['currency'] ?? ''),
    },
    createdAt: String(view['createdAt'] ?? ''),
    settlementState,
  };
}

/** The owner of the cell's external funding account, which top-ups draw from. */
export const externalFundingOwnerId = 'cellpay-external-funding';
/** Statement pages when the caller leaves page_size unset. */
export const statementPageSizeDefault = 50;

const payments = 'PaymentService';
const accounts = 'AccountService';
/** The cell's settlement-aware operations (cross-cell, refunds, queries with settlement state). */
const settlement = 'SettlementService';
/** What a payment the cell made inside itself is, in `settlement_state`. */
const localSettlement = 'local';

function paymentRequest(
  request: Request,
  principal: Principal,
  ttlSeconds: number,
): Record<string, unknown> {
  return {
    merchantId: principal.ownerId,
    outTradeNo: text(request, 'outTradeNo'),
    payerAccountId: text(request, 'payerAccountId'),
    ...money(request),
    ttlSeconds,
  };
}

/** The merchant of a payment is the caller; its cell is the cell of its ID. */
const merchantOf = (_request: Request, principal: Principal): DirectRoute => ({
  kind: 'user',
  userId: principal.ownerId,
});

const byPayer = (request: Request): DirectRoute => ({
  kind: 'slot',
  slot: slotOfId(request['payerAccountId'], 'acc', 'payer_account_id'),
});
const byPayment = (request: Request): DirectRoute => ({
  kind: 'slot',
  slot: slotOfId(request['paymentId'], 'pay', 'payment_id'),
});
const byAccount =
  (field: string, name: string) =>
  (request: Request): DirectRoute => ({
    kind: 'slot',
    slot: slotOfId(request[field], 'acc', name),
  });

const operationList: readonly PublicOperation[] = [
  {
    service: 'Payments',
    method: 'Pay',
    scope: 'pay',
    retryable: true,
    route: byPayer,
    counterpart: merchantOf,
    forward: async (cell, request, principal, { crossCell }) =>
      crossCell
        ? presentSettledPayment(
            await cell({
              service: settlement,
              method: 'payCrossCell',
              request: paymentRequest(request, principal, 0),
            }),
          )
        : presentPayment(
            await cell({
              service: payments,
              method: 'pay',
              request: paymentRequest(request, principal, 0),
            }),
            localSettlement,
          ),
  },
  {
    service: 'Payments',
    method: 'Authorize',
    scope: 'pay',
    retryable: true,
    route: byPayer,
    counterpart: merchantOf,
    forward: async (cell, request, principal, { crossCell }) => {
      if (crossCell) {
        throw new GatewayError(
          GatewayErrorCode.CrossCellAuthorizationNotSupported,
          'the payer and the merchant live in different cells: use Pay, which settles across cells',
        );
      }
      return presentPayment(
        await cell({
          service: payments,
          method: 'authorize',
          request: paymentRequest(request, principal, Number(request['ttlSeconds'] ?? 0)),
        }),
        localSettlement,
      );
    },
  },
  {
    service: 'Payments',
    method: 'Capture',
    scope: 'pay',
    retryable: true,
    route: byPayment,
    forward: async (cell, request, principal) =>
      presentPayment(
        await cell({
          service: payments,
          method: 'capturePayment',
          request: {
            merchantId: principal.ownerId,
            paymentId: text(request, 'paymentId'),
            amountMinor: text(request, 'amountMinor'),
          },
        }),
        localSettlement,
      ),
  },
  {
    service: 'Payments',
    method: 'Void',
    scope: 'pay',
    retryable: true,
    route: byPayment,
    forward: async (cell, request, principal) =>
      presentPayment(
        await cell({
          service: payments,
          method: 'voidPayment',
          request: { merchantId: principal.ownerId, paymentId: text(request, 'paymentId') },
        }),
        localSettlement,
      ),
  },
  {
    service: 'Payments',
    method: 'Refund',
    scope: 'refund',
    retryable: true,
    route: byPayment,
    // The payer's cell knows whether the payment crossed cells and refunds it the same way.
    forward: async (cell, request, principal) =>
      presentSettledRefund(
        await cell({
          service: settlement,
          method: 'refundPayment',
          request: {
            merchantId: principal.ownerId,
            paymentId: text(request, 'paymentId'),
            outRefundNo: text(request, 'outRefundNo'),
            amountMinor: text(request, 'amountMinor'),
          },
        }),
      ),
  },
  {
    service: 'Payments',
    method: 'GetPayment',
    scope: 'read',
    retryable: true,
    route: (request) => {
      if (text(request, 'paymentId') !== '') return byPayment(request);
      if (text(request, 'outTradeNo') !== '') return { kind: 'every_cell' };
      throw new GatewayError(
        GatewayErrorCode.FieldRequired,
        'payment_id or out_trade_no is required',
        { field: 'key' },
      );
    },
    forward: async (cell, request, principal) => {
      const paymentId = text(request, 'paymentId');
      const settled =
        paymentId !== ''
          ? await cell({
              service: settlement,
              method: 'getPayment',
              request: { merchantId: principal.ownerId, paymentId },
            })
          : await cell({
              service: settlement,
              method: 'getPaymentByOutTradeNo',
              request: { merchantId: principal.ownerId, outTradeNo: text(request, 'outTradeNo') },
            });
      return presentSettledPayment(settled);
    },
  },
  {
    service: 'Payments',
    method: 'GetRefund',
    scope: 'read',
    retryable: true,
    // A refund ID carries its payment's slot: the payer's cell, where the refund saga lives.
    route: (request) => ({
      kind: 'slot',
      slot: slotOfId(request['refundId'], 'rfd', 'refund_id'),
    }),
    forward: async (cell, request, principal) =>
      presentSettledRefund(
        await cell({
          service: settlement,
          method: 'getRefund',
          request: { merchantId: principal.ownerId, refundId: text(request, 'refundId') },
        }),
      ),
  },
  {
    service: 'Wallets',
    method: 'OpenAccount',
    scope: 'wallet',
    retryable: true,
    route: (request) => {
      const userId = text(request, 'userId');
      if (userId === '') {
        throw new GatewayError(GatewayErrorCode.FieldRequired, 'user_id is required', {
          field: 'user_id',
        });
      }
      return { kind: 'user', userId };
    },
    forward: async (cell, request) =>
      presentAccount(
        await cell({
          service: accounts,
          method: 'openAccount',
          request: {
            kind: 'user_wallet',
            ownerId: text(request, 'userId'),
            currency: text(request, 'currency'),
          },
        }),
      ),
  },
  {
    service: 'Wallets',
    method: 'TopUp',
    scope: 'wallet',
    retryable: true,
    route: byAccount('accountId', 'account_id'),
    forward: async (cell, request, principal) => {
      const amount = money(request);
      // Opening is idempotent: the first top-up in a currency creates the cell's funding account.
      const funding = await cell({
        service: accounts,
        method: 'openAccount',
        request: {
          kind: 'external_funding',
          ownerId: externalFundingOwnerId,
          currency: amount.currency,
        },
      });
      return presentTransfer(
        await cell({
          service: accounts,
          method: 'topUp',
          request: {
            clientId: principal.ownerId,
            requestId: text(request, 'requestId'),
            fromAccountId: String(funding['accountId'] ?? ''),
            toAccountId: text(request, 'accountId'),
            ...amount,
          },
        }),
        '',
      );
    },
  },
  {
    service: 'Wallets',
    method: 'Transfer',
    scope: 'wallet',
    retryable: true,
    route: byAccount('fromAccountId', 'from_account_id'),
    counterpart: byAccount('toAccountId', 'to_account_id'),
    forward: async (cell, request, principal, { crossCell }) => {
      const move = {
        clientId: principal.ownerId,
        requestId: text(request, 'requestId'),
        fromAccountId: text(request, 'fromAccountId'),
        toAccountId: text(request, 'toAccountId'),
        ...money(request),
      };
      if (!crossCell) {
        return presentTransfer(
          await cell({ service: accounts, method: 'transferMoney', request: move }),
          localSettlement,
        );
      }
      const settled = await cell({
        service: settlement,
        method: 'transferCrossCell',
        request: move,
      });
      return presentTransfer(
        (settled['transfer'] ?? {}) as Record<string, unknown>,
        String(settled['settlementState'] ?? ''),
      );
    },
  },
  {
    service: 'Wallets',
    method: 'GetBalance',
    scope: 'wallet',
    retryable: true,
    route: byAccount('accountId', 'account_id'),
    forward: async (cell, request) =>
      presentAccount(
        await cell({
          service: accounts,
          method: 'getBalance',
          request: { accountId: text(request, 'accountId') },
        }),
      ),
  },
  {
    service: 'Wallets',
    method: 'ListStatement',
    scope: 'wallet',
    retryable: true,
    route: byAccount('accountId', 'account_id'),
    forward: async (cell, request) => {
      const statement = await cell({
        service: accounts,
        method: 'getStatement',
        request: {
          accountId: text(request, 'accountId'),
          pageSize: Number(request['pageSize'] ?? 0) || statementPageSizeDefault,
          cursor: text(request, 'cursor'),
        },
      });
      const lines = (statement['lines'] ?? []) as Record<string, unknown>[];
      const result: publicV1.Statement = {
        accountId: String(statement['accountId'] ?? ''),
        lines: lines.map((line) => ({
          journalId: String(line['journalId'] ?? ''),
          journalKind: String(line['journalKind'] ?? ''),
          direction: String(line['direction'] ?? ''),
          amount: {
            amountMinor: String(line['amountMinor'] ?? '0'),
            currency: String(line['currency'] ?? ''),
          },
          createdAt: String(line['createdAt'] ?? ''),
        })),
        nextCursor: String(statement['nextCursor'] ?? ''),
      };
      return result;
    },
  },
];

/** The full gRPC path of an operation, as signed by clients: `/cellpay.v1.Payments/Pay`. */
export function methodPathOf(operation: Pick<PublicOperation, 'service' | 'method'>): string {
  return `/cellpay.v1.${operation.service}/${operation.method}`;
}

export const publicOperations: ReadonlyMap<string, PublicOperation> = new Map(
  operationList.map((operation) => [methodPathOf(operation), operation]),
);

/** What the authenticator needs: the scope each method path requires. */
export const requiredScopes: ReadonlyMap<string, Scope> = new Map(
  operationList.map((operation) => [methodPathOf(operation), operation.scope]),
);
