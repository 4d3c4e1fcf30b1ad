import { Inject, Injectable } from '@nestjs/common';

import { type UnitOfWork } from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';

import type { SettlementStore } from '../settlement-records';
import { SettlementError, SettlementErrorCode } from '../settlement.exception';
import { type SagaView, sagaView } from '../settlement-views';
import { settlementStoreToken } from '../tokens';

/** The state of a cross-cell payment, transfer or refund, by its ID, in the cell that started it. */
@Injectable()
export class QuerySagaUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(settlementStoreToken) private readonly store: SettlementStore,
  ) {}

  async execute(sagaId: string): Promise<SagaView> {
    const saga = await this.unitOfWork.run('settlement.query', (tx) =>
      this.store.in(tx).findSaga(sagaId),
    );
    if (saga === undefined) {
      throw new SettlementError(SettlementErrorCode.SagaNotFound, `no cross-cell saga ${sagaId}`);
    }
    return sagaView(saga);
  }
}
