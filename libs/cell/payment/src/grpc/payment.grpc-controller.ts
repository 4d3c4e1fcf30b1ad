import { Controller } from '@nestjs/common';

import { cellV1 } from '@cellpay/proto';

import { PaymentService } from '../payment.service';

/** The payment service on gRPC: thin, every rule lives in the use cases. */
@Controller()
@cellV1.PaymentServiceControllerMethods()
export class PaymentGrpcController implements cellV1.PaymentServiceController {
  constructor(private readonly payments: PaymentService) {}

  pay(request: cellV1.CreatePaymentRequest): Promise<cellV1.Payment> {
    return this.payments.pay(request);
  }

  authorize(request: cellV1.CreatePaymentRequest): Promise<cellV1.Payment> {
    return this.payments.authorize(request);
  }

  capturePayment(request: cellV1.CapturePaymentRequest): Promise<cellV1.Payment> {
    return this.payments.capture(request);
  }

  voidPayment(request: cellV1.VoidPaymentRequest): Promise<cellV1.Payment> {
    return this.payments.void(request);
  }

  refundPayment(request: cellV1.RefundPaymentRequest): Promise<cellV1.Refund> {
    return this.payments.refund(request);
  }

  getPayment(request: cellV1.GetPaymentRequest): Promise<cellV1.Payment> {
    return this.payments.byId(request.merchantId, request.paymentId);
  }

  getPaymentByOutTradeNo(request: cellV1.GetPaymentByOutTradeNoRequest): Promise<cellV1.Payment> {
    return this.payments.byOutTradeNo(request.merchantId, request.outTradeNo);
  }
}
