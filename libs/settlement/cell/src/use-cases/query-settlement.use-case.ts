import { Inject, Injectable } from '@nestjs/common';

import {
  CellError,
  CellErrorCode,
  type CellTransaction,
  checkExternalId,
  parseId,
  type Payment,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';
import { refundView } from '@cellpay/cell-payment';
import { CrossCellRefundState, SettlementEventType } from '@cellpay/settlement-domain';

import type { SettlementRecords, SettlementStore } from '../settlement-records';
import { SettlementError, SettlementErrorCode } from '../settlement.exception';
import {
  type SettledPaymentView,
  settledPaymentView,
  type SettledRefundView,
} from '../settlement-views';
import { settlementStoreToken } from '../tokens';
import { stepEventId } from './start-cross-cell.use-case';

/**
 * Payments and refunds as the merchant sees them, local or cross-cell, each read in one unit of
 * work with the saga that follows it. Only the calling merchant's objects are visible: anything
 * else is not found, exactly like a missing one, so an ID never reveals another merchant's data.
 */
@Injectable()
export class QuerySettlementUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(settlementStoreToken) private readonly store: SettlementStore,
  ) {}

  async paymentById(merchantId: string, paymentId: string): Promise<SettledPaymentView> {
    checkExternalId('merchant_id', merchantId);
    parseId(paymentId, 'payment');
    return this.unitOfWork.run('settlement.query_payment', async (tx) =>
      this.visiblePayment(tx, await tx.payments.findById(paymentId), merchantId, paymentId),
    );
  }

  async paymentByOutTradeNo(merchantId: string, outTradeNo: string): Promise<SettledPaymentView> {
    checkExternalId('merchant_id', merchantId);
    checkExternalId('out_trade_no', outTradeNo);
    return this.unitOfWork.run('settlement.query_payment', async (tx) =>
      this.visiblePayment(
        tx,
        await tx.payments.findByOutTradeNo(merchantId, outTradeNo),
        merchantId,
        outTradeNo,
      ),
    );
  }

  /** Whether a payment was started as a cross-cell saga (it then refunds through one too). */
  async isCrossCellPayment(paymentId: string): Promise<boolean> {
    parseId(paymentId, 'payment');
    const saga = await this.unitOfWork.run('settlement.query_payment', (tx) =>
      this.store.in(tx).findSaga(paymentId),
    );
    return saga?.kind === 'payment';
  }

  /**
   * A refund by its ID. A cross-cell refund is known by its saga (its `refunds` row only exists
   * once it succeeded), a local one by its `refunds` row; either way its payment must be the
   * merchant's.
   */
  async refundById(merchantId: string, refundId: string): Promise<SettledRefundView> {
    checkExternalId('merchant_id', merchantId);
    parseId(refundId, 'refund');
    return this.unitOfWork.run('settlement.query_refund', async (tx) => {
      const records = this.store.in(tx);
      const saga = await records.findSaga(refundId);
      if (saga?.kind === 'refund' && saga.paymentId !== undefined) {
        const payment = await this.merchantPayment(tx, saga.paymentId, merchantId, refundId);
        const requested = await records.findOutboxEvent(
          stepEventId(refundId, SettlementEventType.RefundDebitRequested),
        );
        const posted =
          saga.state === CrossCellRefundState.Succeeded
            ? await tx.refunds.findById(refundId)
            : undefined;
        const settled = await this.withSaga(records, payment);
        return {
          refund: {
            refundId,
            paymentId: payment.id,
            outRefundNo: requested?.event.attributes['outRefundNo'] ?? posted?.outRefundNo ?? '',
            amountMinor: saga.amountMinor.toString(),
            currency: saga.currency,
            journalId: posted?.journalId ?? '',
            createdAt: saga.createdAt.toISOString(),
            payment: settled.payment,
          },
          status: saga.state,
          failureReason: saga.reason ?? '',
          paymentSettlementState: settled.settlementState,
        };
      }
      const refund = await tx.refunds.findById(refundId);
      if (refund === undefined || refund.merchantId !== merchantId) throw refundNotFound(refundId);
      const payment = await this.merchantPayment(tx, refund.paymentId, merchantId, refundId);
      const settled = await this.withSaga(records, payment);
      return {
        refund: refundView(refund, payment),
        status: CrossCellRefundState.Succeeded,
        failureReason: '',
        paymentSettlementState: settled.settlementState,
      };
    });
  }

  private async merchantPayment(
    tx: CellTransaction,
    paymentId: string,
    merchantId: string,
    refundId: string,
  ): Promise<Payment> {
    const payment = await tx.payments.findById(paymentId);
    if (payment === undefined || payment.merchantId !== merchantId) throw refundNotFound(refundId);
    return payment;
  }

  private async visiblePayment(
    tx: CellTransaction,
    payment: Payment | undefined,
    merchantId: string,
    key: string,
  ): Promise<SettledPaymentView> {
    if (payment === undefined || payment.merchantId !== merchantId) {
      throw new CellError(CellErrorCode.PaymentNotFound, `no payment ${key}`);
    }
    return this.withSaga(this.store.in(tx), payment);
  }

  private async withSaga(
    records: SettlementRecords,
    payment: Payment,
  ): Promise<SettledPaymentView> {
    return settledPaymentView(payment, await records.findSaga(payment.id));
  }
}

function refundNotFound(refundId: string): SettlementError {
  return new SettlementError(SettlementErrorCode.RefundNotFound, `no refund ${refundId}`);
}
