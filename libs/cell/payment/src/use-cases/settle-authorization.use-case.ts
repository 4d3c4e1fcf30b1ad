import { Inject, Injectable } from '@nestjs/common';

import {
  capturePayment,
  type CellTransaction,
  CellError,
  CellErrorCode,
  checkAmount,
  checkExternalId,
  type Clock,
  HoldStatus,
  JournalKind,
  parseId,
  type Payment,
  PaymentStatus,
  transition,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { HoldLedger } from '@cellpay/cell-account';
import { clockToken, runIdempotent, unitOfWorkToken } from '@cellpay/cell-data-access';

import { type PaymentView, paymentView } from '../payment-views';

export interface CapturePaymentRequest {
  readonly merchantId: string;
  readonly paymentId: string;
  readonly amountMinor: string;
}

export interface VoidPaymentRequest {
  readonly merchantId: string;
  readonly paymentId: string;
}

export async function lockMerchantPayment(
  tx: CellTransaction,
  merchantId: string,
  paymentId: string,
): Promise<Payment> {
  const payment = await tx.payments.lockForUpdate(paymentId);
  // Another merchant's payment is reported as absent: its existence is not this caller's business.
  if (payment === undefined || payment.merchantId !== merchantId) {
    throw new CellError(CellErrorCode.PaymentNotFound, `no payment ${paymentId}`);
  }
  return payment;
}

/**
 * Capture (fully or partly, once) or void an authorized payment. A payment whose hold has expired
 * is moved to `expired` (its funds released) and the caller is told `hold_expired`.
 */
@Injectable()
export class SettleAuthorizationUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    private readonly holds: HoldLedger,
  ) {}

  async capture(request: CapturePaymentRequest): Promise<PaymentView> {
    return this.settle('capture', request, (tx, payment) =>
      this.captureLocked(tx, payment, request),
    );
  }

  async void(request: VoidPaymentRequest): Promise<PaymentView> {
    return this.settle('void', request, async (tx, payment) => {
      const next = transition(payment, PaymentStatus.Voided, this.clock.now());
      await this.holds.release(tx, this.holdIdOf(payment), HoldStatus.Voided);
      return next;
    });
  }

  private async settle(
    operation: 'capture' | 'void',
    request: VoidPaymentRequest & { readonly amountMinor?: string },
    work: (tx: CellTransaction, payment: Payment) => Promise<Payment>,
  ): Promise<PaymentView> {
    const merchantId = checkExternalId('merchant_id', request.merchantId);
    parseId(request.paymentId, 'payment');
    const expired = await this.expireIfPastHold(merchantId, request.paymentId);
    if (expired) {
      throw new CellError(
        CellErrorCode.HoldExpired,
        `the authorization of ${request.paymentId} expired`,
      );
    }
    return runIdempotent(
      this.unitOfWork,
      `payment.${operation}`,
      {
        scope: `payment:${merchantId}`,
        key: `${operation}:${request.paymentId}`,
        request: { operation, ...request },
        // The key is the payment's, not the client's: a refused capture (too much) must not stop
        // the corrected one.
        refusalsStored: false,
      },
      async (tx) => {
        const payment = await lockMerchantPayment(tx, merchantId, request.paymentId);
        const next = await work(tx, payment);
        await tx.payments.update(next);
        return paymentView(next);
      },
    );
  }

  private async captureLocked(
    tx: CellTransaction,
    payment: Payment,
    request: CapturePaymentRequest,
  ): Promise<Payment> {
    const amountMinor = checkAmount(request.amountMinor, payment.currency);
    const next = capturePayment(payment, amountMinor, this.clock.now());
    await this.holds.capture(tx, this.holdIdOf(payment), payment.payeeAccountId, amountMinor, {
      kind: JournalKind.Capture,
      referenceId: payment.id,
    });
    return next;
  }

  /** Expires up to `limit` authorizations that lapsed, releasing their holds; returns how many. */
  async expireLapsed(limit: number): Promise<number> {
    const lapsed = await this.unitOfWork.run('payment.lapsed', (tx) =>
      tx.payments.listLapsedAuthorizations(this.clock.now(), limit),
    );
    let expiredCount = 0;
    for (const payment of lapsed) {
      if (await this.expireIfPastHold(payment.merchantId, payment.id)) expiredCount += 1;
    }
    return expiredCount;
  }

  /** Moves an authorized payment whose hold is past its time to `expired`; true if it did. */
  private async expireIfPastHold(merchantId: string, paymentId: string): Promise<boolean> {
    return this.unitOfWork.run('payment.expire', async (tx) => {
      const payment = await lockMerchantPayment(tx, merchantId, paymentId);
      if (payment.status !== PaymentStatus.Authorized) return false;
      const hold = await tx.holds.lockForUpdate(this.holdIdOf(payment));
      const now = this.clock.now();
      if (hold === undefined || (hold.status === HoldStatus.Open && hold.expiresAt > now))
        return false;
      if (hold.status === HoldStatus.Open)
        await this.holds.release(tx, hold.id, HoldStatus.Expired);
      await tx.payments.update(transition(payment, PaymentStatus.Expired, now));
      return true;
    });
  }

  private holdIdOf(payment: Payment): string {
    if (payment.holdId === undefined) {
      throw new CellError(
        CellErrorCode.InvalidStateTransition,
        `payment ${payment.id} has no authorization`,
      );
    }
    return payment.holdId;
  }
}
