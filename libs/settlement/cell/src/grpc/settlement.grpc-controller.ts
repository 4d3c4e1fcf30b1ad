import { Controller } from '@nestjs/common';

import { cellV1 } from '@cellpay/proto';

import { SettlementPaymentsService } from '../settlement-payments.service';

/** The cell's SettlementService on gRPC: thin, every rule lives in the use cases. */
@Controller()
@cellV1.SettlementServiceControllerMethods()
export class SettlementGrpcController implements cellV1.SettlementServiceController {
  constructor(private readonly settlement: SettlementPaymentsService) {}

  payCrossCell(request: cellV1.CreatePaymentRequest): Promise<cellV1.SettledPayment> {
    return this.settlement.payCrossCell(request);
  }

  transferCrossCell(request: cellV1.MoveMoneyRequest): Promise<cellV1.SettledTransfer> {
    return this.settlement.transferCrossCell(request);
  }

  refundPayment(request: cellV1.RefundPaymentRequest): Promise<cellV1.SettledRefund> {
    return this.settlement.refund(request);
  }

  getPayment(request: cellV1.GetPaymentRequest): Promise<cellV1.SettledPayment> {
    return this.settlement.paymentById(request.merchantId, request.paymentId);
  }

  getPaymentByOutTradeNo(
    request: cellV1.GetPaymentByOutTradeNoRequest,
  ): Promise<cellV1.SettledPayment> {
    return this.settlement.paymentByOutTradeNo(request.merchantId, request.outTradeNo);
  }

  getRefund(request: cellV1.GetRefundRequest): Promise<cellV1.SettledRefund> {
    return this.settlement.refundById(request.merchantId, request.refundId);
  }
}
