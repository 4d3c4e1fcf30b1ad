import { Inject, Injectable } from '@nestjs/common';

import {
  checkAmount,
  checkExternalId,
  type Clock,
  type IdGenerator,
  JournalKind,
  movement,
  parseId,
  type Refund,
  refundPayment,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { LedgerPoster } from '@cellpay/cell-account';
import {
  clockToken,
  idGeneratorToken,
  runIdempotent,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';

import { type RefundView, refundView } from '../payment-views';
import { lockMerchantPayment } from './settle-authorization.use-case';

export interface RefundPaymentRequest {
  readonly merchantId: string;
  readonly paymentId: string;
  readonly outRefundNo: string;
  readonly amountMinor: string;
}

/**
 * Refund part or all of a captured payment, several times, never more than was captured.
 * Idempotent on (merchant, out_refund_no); the merchant's account must cover the refund.
 */
@Injectable()
export class RefundPaymentUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    private readonly ledger: LedgerPoster,
  ) {}

  async execute(request: RefundPaymentRequest): Promise<RefundView> {
    const merchantId = checkExternalId('merchant_id', request.merchantId);
    const outRefundNo = checkExternalId('out_refund_no', request.outRefundNo);
    const { slot } = parseId(request.paymentId, 'payment');
    return runIdempotent(
      this.unitOfWork,
      'payment.refund',
      { scope: `payment:${merchantId}`, key: `refund:${outRefundNo}`, request },
      async (tx) => {
        const payment = await lockMerchantPayment(tx, merchantId, request.paymentId);
        const amountMinor = checkAmount(request.amountMinor, payment.currency);
        const now = this.clock.now();
        const next = refundPayment(payment, amountMinor, now);
        const refundId = this.ids.next('refund', slot);
        const journal = movement(
          {
            id: this.ids.next('journal', slot),
            kind: JournalKind.Refund,
            referenceId: refundId,
            createdAt: now,
          },
          payment.payeeAccountId,
          payment.payerAccountId,
          amountMinor,
          payment.currency,
        );
        await this.ledger.post(tx, journal);
        const refund: Refund = {
          id: refundId,
          paymentId: payment.id,
          merchantId,
          outRefundNo,
          amountMinor,
          currency: payment.currency,
          journalId: journal.id,
          createdAt: now,
        };
        await tx.refunds.insert(refund);
        await tx.payments.update(next);
        return refundView(refund, next);
      },
    );
  }
}
