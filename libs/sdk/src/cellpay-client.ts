import { randomBytes } from 'node:crypto';

import {
  type ChannelCredentials,
  credentials as grpcCredentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import type { Money } from '@cellpay/money';
import { publicProtoPath, type publicV1 } from '@cellpay/proto';
import { protoJsonView, signatureHeaders, signRequest } from '@cellpay/signing';

import { type CellpayError, toCellpayError } from './cellpay-error';

export interface CellpayClientOptions {
  /** host:port of the gateway. */
  readonly address: string;
  readonly keyId: string;
  /** The credential's secret (32 bytes); never logged, never sent. */
  readonly secret: Buffer;
  readonly channelCredentials?: ChannelCredentials;
  /** Deadline of each attempt. */
  readonly deadlineMs?: number;
  /** Extra attempts after a retryable refusal (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED). */
  readonly retriesMax?: number;
  /** First pause between attempts; doubles each time, capped at backoffMsMax. */
  readonly backoffMs?: number;
  readonly backoffMsMax?: number;
  /**
   * Marks every request as stress (shadow) traffic: the gateway accepts the mark only from a
   * credential with the stress scope, and the platform keeps its effects out of real money.
   */
  readonly stress?: boolean;
}

/** The metadata that marks a request as stress (shadow) traffic; its value is `1`. */
export const stressTrafficHeader = 'x-cellpay-stress';

export const cellpayClientDefaults = {
  deadlineMs: 5_000,
  retriesMax: 2,
  backoffMs: 100,
  backoffMsMax: 2_000,
} as const;

/** Statuses after which the same request (same idempotency key) may safely be sent again. */
const retryableCodes: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.DEADLINE_EXCEEDED,
]);

type UnaryMethod = (
  request: object,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response: object) => void,
) => void;
type ServiceClient = Record<string, UnaryMethod> & { close(): void };

function amountOf(money: Money): publicV1.Money {
  return { amountMinor: money.amountMinor.toString(), currency: money.currency };
}

/**
 * The merchant SDK: signs every request (HMAC-SHA256, fresh timestamp and nonce per attempt),
 * retries retryable refusals with the same body and so the same idempotency key, and returns the
 * typed messages of cellpay.v1. Money goes in as bigint minor units with a currency.
 */
export class CellpayClient {
  private readonly payments: ServiceClient;
  private readonly wallets: ServiceClient;
  private readonly settings: Required<
    Pick<CellpayClientOptions, 'deadlineMs' | 'retriesMax' | 'backoffMs' | 'backoffMsMax'>
  >;

  constructor(private readonly options: CellpayClientOptions) {
    const root = loadPackageDefinition(
      loadSync(publicProtoPath, {
        keepCase: false,
        longs: String,
        enums: String,
        defaults: true,
        oneofs: false,
      }),
    );
    const v1 = (root['cellpay'] as GrpcObject)['v1'] as GrpcObject;
    const channel = options.channelCredentials ?? grpcCredentials.createInsecure();
    const create = (name: string): ServiceClient =>
      new (v1[name] as ServiceClientConstructor)(
        options.address,
        channel,
      ) as unknown as ServiceClient;
    this.payments = create('Payments');
    this.wallets = create('Wallets');
    this.settings = {
      deadlineMs: options.deadlineMs ?? cellpayClientDefaults.deadlineMs,
      retriesMax: options.retriesMax ?? cellpayClientDefaults.retriesMax,
      backoffMs: options.backoffMs ?? cellpayClientDefaults.backoffMs,
      backoffMsMax: options.backoffMsMax ?? cellpayClientDefaults.backoffMsMax,
    };
  }

  pay(request: {
    outTradeNo: string;
    payerAccountId: string;
    amount: Money;
  }): Promise<publicV1.Payment> {
    return this.call('Payments', 'Pay', { ...request, amount: amountOf(request.amount) });
  }

  authorize(request: {
    outTradeNo: string;
    payerAccountId: string;
    amount: Money;
    ttlSeconds: number;
  }): Promise<publicV1.Payment> {
    return this.call('Payments', 'Authorize', { ...request, amount: amountOf(request.amount) });
  }

  capture(request: { paymentId: string; amountMinor: bigint }): Promise<publicV1.Payment> {
    return this.call('Payments', 'Capture', {
      paymentId: request.paymentId,
      amountMinor: request.amountMinor.toString(),
    });
  }

  void(request: { paymentId: string }): Promise<publicV1.Payment> {
    return this.call('Payments', 'Void', request);
  }

  refund(request: {
    paymentId: string;
    outRefundNo: string;
    amountMinor: bigint;
  }): Promise<publicV1.PaymentRefund> {
    return this.call('Payments', 'Refund', {
      ...request,
      amountMinor: request.amountMinor.toString(),
    });
  }

  getPayment(key: { paymentId: string } | { outTradeNo: string }): Promise<publicV1.Payment> {
    return this.call('Payments', 'GetPayment', key);
  }

  /** A refund by its ID: a cross-cell refund is `pending`, then `succeeded` or `failed`. */
  getRefund(request: { refundId: string }): Promise<publicV1.PaymentRefund> {
    return this.call('Payments', 'GetRefund', request);
  }

  openAccount(request: { userId: string; currency: string }): Promise<publicV1.Account> {
    return this.call('Wallets', 'OpenAccount', request);
  }

  topUp(request: {
    requestId: string;
    accountId: string;
    amount: Money;
  }): Promise<publicV1.WalletTransfer> {
    return this.call('Wallets', 'TopUp', { ...request, amount: amountOf(request.amount) });
  }

  transfer(request: {
    requestId: string;
    fromAccountId: string;
    toAccountId: string;
    amount: Money;
  }): Promise<publicV1.WalletTransfer> {
    return this.call('Wallets', 'Transfer', { ...request, amount: amountOf(request.amount) });
  }

  getBalance(request: { accountId: string }): Promise<publicV1.Account> {
    return this.call('Wallets', 'GetBalance', request);
  }

  listStatement(request: {
    accountId: string;
    pageSize?: number;
    cursor?: string;
  }): Promise<publicV1.Statement> {
    return this.call('Wallets', 'ListStatement', request);
  }

  close(): void {
    this.payments.close();
    this.wallets.close();
  }

  /**
   * Sends one request, signed afresh per attempt; the body (and so its idempotency key) never
   * changes between attempts, so a retry can only ever replay the original effect.
   */
  async call<T>(service: 'Payments' | 'Wallets', method: string, request: object): Promise<T> {
    const client = service === 'Payments' ? this.payments : this.wallets;
    const handler = client[lowerFirst(method)];
    if (handler === undefined) throw new Error(`cellpay.v1.${service} has no method ${method}`);
    let lastError: CellpayError | undefined;
    for (let attempt = 0; attempt <= this.settings.retriesMax; attempt++) {
      if (attempt > 0) await pause(this.backoff(attempt, lastError));
      try {
        return await new Promise<T>((resolve, reject) => {
          handler.call(
            client,
            request,
            this.sign(`/cellpay.v1.${service}/${method}`, request),
            { deadline: Date.now() + this.settings.deadlineMs },
            (error, response) => (error ? reject(error) : resolve(response as T)),
          );
        });
      } catch (error) {
        lastError = toCellpayError(error);
        if (!retryableCodes.has(lastError.code)) throw lastError;
      }
    }
    throw lastError ?? new Error('unreachable: no attempt was made');
  }

  /** The signature headers of one attempt (exported for tools that build raw calls). */
  sign(path: string, request: object, nowMs = Date.now()): Metadata {
    const nonce = randomBytes(16).toString('base64url');
    const parts = {
      method: path,
      keyId: this.options.keyId,
      timestampMs: nowMs,
      nonce,
      body: protoJsonView(request),
    };
    const metadata = new Metadata();
    metadata.set(signatureHeaders.keyId, this.options.keyId);
    metadata.set(signatureHeaders.timestamp, String(nowMs));
    metadata.set(signatureHeaders.nonce, nonce);
    metadata.set(signatureHeaders.signature, signRequest(this.options.secret, parts));
    if (this.options.stress === true) metadata.set(stressTrafficHeader, '1');
    return metadata;
  }

  private backoff(attempt: number, error: CellpayError | undefined): number {
    const hinted = Number(error?.facts['retryAfterMs'] ?? 0);
    const exponential = Math.min(
      this.settings.backoffMsMax,
      this.settings.backoffMs * 2 ** (attempt - 1),
    );
    return Math.min(this.settings.backoffMsMax, Math.max(hinted, exponential));
  }
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
