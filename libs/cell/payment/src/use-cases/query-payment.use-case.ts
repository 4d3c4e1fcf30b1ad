import { Inject, Injectable } from '@nestjs/common';

import {
  CellError,
  CellErrorCode,
  checkExternalId,
  parseId,
  type Payment,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';

import { type PaymentView, paymentView } from '../payment-views';

/** Query a payment by its ID or by the merchant's (merchant, out_trade_no). */
@Injectable()
export class QueryPaymentUseCase {
  constructor(@Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork) {}

  async byId(merchantId: string, paymentId: string): Promise<PaymentView> {
    checkExternalId('merchant_id', merchantId);
    parseId(paymentId, 'payment');
    const payment = await this.unitOfWork.run('payment.query', (tx) =>
      tx.payments.findById(paymentId),
    );
    return this.visible(payment, merchantId, paymentId);
  }

  async byOutTradeNo(merchantId: string, outTradeNo: string): Promise<PaymentView> {
    checkExternalId('merchant_id', merchantId);
    checkExternalId('out_trade_no', outTradeNo);
    const payment = await this.unitOfWork.run('payment.query', (tx) =>
      tx.payments.findByOutTradeNo(merchantId, outTradeNo),
    );
    return this.visible(payment, merchantId, outTradeNo);
  }

  private visible(payment: Payment | undefined, merchantId: string, key: string): PaymentView {
    if (payment === undefined || payment.merchantId !== merchantId) {
      throw new CellError(CellErrorCode.PaymentNotFound, `no payment ${key}`);
    }
    return paymentView(payment);
  }
}
