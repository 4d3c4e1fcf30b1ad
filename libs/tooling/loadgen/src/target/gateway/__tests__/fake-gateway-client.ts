import { status } from '@grpc/grpc-js';

import type { Money } from '@cellpay/money';
import type { publicV1 } from '@cellpay/proto';
import { CellpayError } from '@cellpay/sdk';

import type {
  CellOfUser,
  GatewayClient,
  GatewayClientFactory,
  LoadCredential,
} from '../load-fleet';

/** Routes user IDs by their trailing number: n mod 3 -> cell-(n mod 3 + 1). */
export const fakeCellOfUser: CellOfUser = (userId) =>
  `cell-${(Number(/(\d+)$/.exec(userId)?.[1] ?? 0) % 3) + 1}`;

/** A wallet's account ID carries its user ID, so tests can tell which cell a payer lives in. */
export function accountIdOf(userId: string): string {
  return `acc_${userId}`;
}

export function cellOfAccount(accountId: string): string {
  return fakeCellOfUser(accountId.replace(/^acc_/, ''));
}

export interface RecordedPay {
  readonly keyId: string;
  readonly stress: boolean;
  readonly outTradeNo: string;
  readonly payerAccountId: string;
  readonly amount: Money;
}

/** Decides the answer of one call: undefined for success, or the refusal to throw. */
export type FakeRefusal = (
  method: string,
  request: Record<string, unknown>,
) => CellpayError | undefined;

export function refusal(code: status, reason: string): CellpayError {
  return new CellpayError(code, reason, reason, {});
}

/**
 * How the fake settles payments: `lagMsOf` says, per Pay call, after how many ms (of `now`) the
 * payment is settled: undefined for a same-cell payment (`local`), Infinity for one that never
 * settles.
 */
export interface FakeSettlement {
  now(): number;
  lagMsOf(keyId: string, request: { readonly payerAccountId: string }): number | undefined;
}

/**
 * The merchant SDK without a network: records every call with the credential and stress mark it
 * was made with, and answers like the gateway (or refuses as the test says).
 */
export class FakeGateway {
  readonly pays: RecordedPay[] = [];
  readonly refunds: {
    keyId: string;
    paymentId: string;
    outRefundNo: string;
    amountMinor: bigint;
  }[] = [];
  readonly queries: { keyId: string; paymentId: string }[] = [];
  readonly balances: string[] = [];
  readonly opened: { userId: string; stress: boolean }[] = [];
  readonly topUps: { accountId: string; amount: Money; requestId: string }[] = [];
  closed = 0;
  private paymentCount = 0;
  private readonly settlesAtMs = new Map<string, number>();

  constructor(
    private readonly refuse: FakeRefusal = () => undefined,
    private readonly settlement?: FakeSettlement,
  ) {}

  private settlementStateOf(paymentId: string): string {
    const settlesAtMs = this.settlesAtMs.get(paymentId);
    if (settlesAtMs === undefined || this.settlement === undefined) return 'local';
    return this.settlement.now() >= settlesAtMs ? 'settled' : 'settling';
  }

  readonly factory: GatewayClientFactory = (credential: LoadCredential, stress: boolean) =>
    this.client(credential.keyId, stress);

  private client(keyId: string, stress: boolean): GatewayClient {
    const check = (method: string, request: object): void => {
      const error = this.refuse(method, request as Record<string, unknown>);
      if (error !== undefined) throw error;
    };
    return {
      pay: async (request) => {
        check('Pay', request);
        this.pays.push({ keyId, stress, ...request });
        this.paymentCount += 1;
        const paymentId = `pay_0001p${this.paymentCount}`;
        const lagMs = this.settlement?.lagMsOf(keyId, request);
        if (this.settlement !== undefined && lagMs !== undefined) {
          this.settlesAtMs.set(paymentId, this.settlement.now() + lagMs);
        }
        return {
          paymentId,
          settlementState: this.settlementStateOf(paymentId),
        } as publicV1.Payment;
      },
      refund: async (request) => {
        check('Refund', request);
        this.refunds.push({ keyId, ...request });
        return { refundId: `rfd_${request.outRefundNo}` } as publicV1.PaymentRefund;
      },
      getPayment: async (key) => {
        check('GetPayment', key);
        const paymentId = 'paymentId' in key ? key.paymentId : '';
        this.queries.push({ keyId, paymentId });
        return {
          paymentId,
          settlementState: this.settlementStateOf(paymentId),
        } as publicV1.Payment;
      },
      openAccount: async (request) => {
        check('OpenAccount', request);
        this.opened.push({ userId: request.userId, stress });
        return { accountId: accountIdOf(request.userId) } as publicV1.Account;
      },
      topUp: async (request) => {
        check('TopUp', request);
        this.topUps.push(request);
        return {} as publicV1.WalletTransfer;
      },
      getBalance: async (request) => {
        check('GetBalance', request);
        this.balances.push(request.accountId);
        return {} as publicV1.Account;
      },
      close: () => {
        this.closed += 1;
      },
    };
  }
}
