import { type DynamicModule, Module } from '@nestjs/common';

import { AccountModule } from '@cellpay/cell-account';

import type { CellRouter } from './cell-router';
import { ClearingAccounts } from './clearing-accounts';
import type { SettlementStore } from './settlement-records';
import { CrossCellService } from './cross-cell.service';
import { cellRouterToken, settlementStoreToken } from './tokens';
import { ApplySettlementEventUseCase } from './use-cases/apply-settlement-event.use-case';
import { QuerySagaUseCase } from './use-cases/query-saga.use-case';
import { StartCrossCellUseCase } from './use-cases/start-cross-cell.use-case';

export interface SettlementCellOptions {
  readonly store: SettlementStore;
  readonly router: CellRouter;
}

/**
 * Settlement inside one cell: the cross-cell use cases of the payer's side and the applier of
 * inbound events, posting through the cell's own ledger in the cell's own transactions. Needs the
 * cell's `CellPersistenceModule` (unit of work, clock, IDs, settings) in the same application.
 */
@Module({})
export class SettlementCellModule {
  static register(options: SettlementCellOptions): DynamicModule {
    return {
      module: SettlementCellModule,
      imports: [AccountModule],
      providers: [
        { provide: settlementStoreToken, useValue: options.store },
        { provide: cellRouterToken, useValue: options.router },
        ClearingAccounts,
        StartCrossCellUseCase,
        ApplySettlementEventUseCase,
        QuerySagaUseCase,
        CrossCellService,
      ],
      exports: [CrossCellService, ApplySettlementEventUseCase, settlementStoreToken],
    };
  }
}
