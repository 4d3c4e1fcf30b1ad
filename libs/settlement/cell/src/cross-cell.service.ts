import { Injectable } from '@nestjs/common';

import type { MoveMoneyRequest } from '@cellpay/cell-account';
import type { CreatePaymentRequest, RefundPaymentRequest } from '@cellpay/cell-payment';

import type { SagaView } from './settlement-views';
import { QuerySagaUseCase } from './use-cases/query-saga.use-case';
import { StartCrossCellUseCase } from './use-cases/start-cross-cell.use-case';

/** Cross-cell pay, transfer and refund on the payer's side, and the state of each saga. */
@Injectable()
export class CrossCellService {
  constructor(
    private readonly start: StartCrossCellUseCase,
    private readonly query: QuerySagaUseCase,
  ) {}

  pay(request: CreatePaymentRequest): Promise<SagaView> {
    return this.start.pay(request);
  }

  transfer(request: MoveMoneyRequest): Promise<SagaView> {
    return this.start.transfer(request);
  }

  refund(request: RefundPaymentRequest): Promise<SagaView> {
    return this.start.refund(request);
  }

  saga(sagaId: string): Promise<SagaView> {
    return this.query.execute(sagaId);
  }
}
