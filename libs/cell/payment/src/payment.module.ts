import { Module } from '@nestjs/common';

import { AccountModule } from '@cellpay/cell-account';

import { PaymentService } from './payment.service';
import { CreatePaymentUseCase } from './use-cases/create-payment.use-case';
import { QueryPaymentUseCase } from './use-cases/query-payment.use-case';
import { RefundPaymentUseCase } from './use-cases/refund-payment.use-case';
import { SettleAuthorizationUseCase } from './use-cases/settle-authorization.use-case';
import { PaymentGrpcController } from './grpc/payment.grpc-controller';

/** The payment service of a cell; posts through the account service's ledger in one transaction. */
@Module({
  controllers: [PaymentGrpcController],
  imports: [AccountModule],
  providers: [
    PaymentService,
    CreatePaymentUseCase,
    SettleAuthorizationUseCase,
    RefundPaymentUseCase,
    QueryPaymentUseCase,
  ],
  exports: [PaymentService],
})
export class PaymentModule {}
