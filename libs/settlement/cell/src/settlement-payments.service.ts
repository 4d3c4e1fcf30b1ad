import { Injectable } from '@nestjs/common';

import type { MoveMoneyRequest } from '@cellpay/cell-account';
import { TransferKind } from '@cellpay/cell-domain';
import {
  type CreatePaymentRequest,
  PaymentService,
  type RefundPaymentRequest,
} from '@cellpay/cell-payment';
import { CrossCellRefundState, SettlementState } from '@cellpay/settlement-domain';

import { CrossCellService } from './cross-cell.service';
import type {
  SettledPaymentView,
  SettledRefundView,
  SettledTransferView,
} from './settlement-views';
import { QuerySettlementUseCase } from './use-cases/query-settlement.use-case';

/**
 * The payment operations of a cell that know about settlement: what the cell's
 * `SettlementService` serves. Cross-cell pay and transfer start their saga; a refund takes the
 * cross-cell path exactly when its payment was cross-cell (the caller never has to know); queries
 * show each payment's and refund's settlement state.
 */
@Injectable()
export class SettlementPaymentsService {
  constructor(
    private readonly crossCell: CrossCellService,
    private readonly payments: PaymentService,
    private readonly query: QuerySettlementUseCase,
  ) {}

  async payCrossCell(request: CreatePaymentRequest): Promise<SettledPaymentView> {
    await this.crossCell.pay(request);
    // Read the payment as it is now, by its order number: a replay answers what was stored when
    // the order was first paid, which is a local payment's reply if the merchant has moved cells
    // since (local and cross-cell pay share the merchant's idempotency keys, so never both run).
    return this.query.paymentByOutTradeNo(request.merchantId, request.outTradeNo);
  }

  async transferCrossCell(request: MoveMoneyRequest): Promise<SettledTransferView> {
    const started = await this.crossCell.transfer(request);
    const saga = await this.crossCell.saga(started.sagaId);
    return {
      transfer: {
        transferId: saga.sagaId,
        kind: TransferKind.Transfer,
        fromAccountId: request.fromAccountId,
        toAccountId: request.toAccountId,
        amountMinor: saga.amountMinor,
        currency: saga.currency,
        // The journal stays inside the cell; the public API never shows it.
        journalId: '',
        createdAt: saga.createdAt,
      },
      settlementState: saga.state,
    };
  }

  async refund(request: RefundPaymentRequest): Promise<SettledRefundView> {
    // A payment's saga is written in the payment's own transaction, so whether it is cross-cell
    // never changes after it exists: checking first and refunding next cannot race.
    if (await this.query.isCrossCellPayment(request.paymentId)) {
      const saga = await this.crossCell.refund(request);
      return this.query.refundById(request.merchantId, saga.sagaId);
    }
    return {
      refund: await this.payments.refund(request),
      status: CrossCellRefundState.Succeeded,
      failureReason: '',
      paymentSettlementState: SettlementState.Local,
    };
  }

  paymentById(merchantId: string, paymentId: string): Promise<SettledPaymentView> {
    return this.query.paymentById(merchantId, paymentId);
  }

  paymentByOutTradeNo(merchantId: string, outTradeNo: string): Promise<SettledPaymentView> {
    return this.query.paymentByOutTradeNo(merchantId, outTradeNo);
  }

  refundById(merchantId: string, refundId: string): Promise<SettledRefundView> {
    return this.query.refundById(merchantId, refundId);
  }
}
