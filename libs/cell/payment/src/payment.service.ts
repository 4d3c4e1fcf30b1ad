import { Injectable } from '@nestjs/common';

import type { PaymentView, RefundView } from './payment-views';
import {
  type CreatePaymentRequest,
  CreatePaymentUseCase,
} from './use-cases/create-payment.use-case';
import { QueryPaymentUseCase } from './use-cases/query-payment.use-case';
import {
  type RefundPaymentRequest,
  RefundPaymentUseCase,
} from './use-cases/refund-payment.use-case';
import {
  type CapturePaymentRequest,
  SettleAuthorizationUseCase,
  type VoidPaymentRequest,
} from './use-cases/settle-authorization.use-case';

/** The payment service of a cell: pay, authorize, capture, void, refund, query. */
@Injectable()
export class PaymentService {
  constructor(
    private readonly createPayment: CreatePaymentUseCase,
    private readonly settleAuthorization: SettleAuthorizationUseCase,
    private readonly refundPayment: RefundPaymentUseCase,
    private readonly queryPayment: QueryPaymentUseCase,
  ) {}

  pay(request: CreatePaymentRequest): Promise<PaymentView> {
    return this.createPayment.execute('pay', request);
  }

  authorize(request: CreatePaymentRequest): Promise<PaymentView> {
    return this.createPayment.execute('authorize', request);
  }

  capture(request: CapturePaymentRequest): Promise<PaymentView> {
    return this.settleAuthorization.capture(request);
  }

  void(request: VoidPaymentRequest): Promise<PaymentView> {
    return this.settleAuthorization.void(request);
  }

  refund(request: RefundPaymentRequest): Promise<RefundView> {
    return this.refundPayment.execute(request);
  }

  /** Expires up to `limit` lapsed authorizations (a periodic job of the cell process). */
  expireAuthorizations(limit: number): Promise<number> {
    return this.settleAuthorization.expireLapsed(limit);
  }

  byId(merchantId: string, paymentId: string): Promise<PaymentView> {
    return this.queryPayment.byId(merchantId, paymentId);
  }

  byOutTradeNo(merchantId: string, outTradeNo: string): Promise<PaymentView> {
    return this.queryPayment.byOutTradeNo(merchantId, outTradeNo);
  }
}
