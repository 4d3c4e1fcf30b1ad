import { Module } from '@nestjs/common';

import { AccountingService } from './accounting.service';
import { GeneralLedgerPoster } from './general-ledger-poster';
import { CatchUpGlPostingUseCase } from './use-cases/catch-up-gl-posting.use-case';
import { CloseDayUseCase } from './use-cases/close-day.use-case';
import { GetTrialBalanceUseCase } from './use-cases/get-trial-balance.use-case';
import { ReconcileCellUseCase } from './use-cases/reconcile-cell.use-case';
import { AccountingGrpcController } from './grpc/accounting.grpc-controller';

/** The accounting service of a cell. Its ports come from the global CellPersistenceModule. */
@Module({
  controllers: [AccountingGrpcController],
  providers: [
    AccountingService,
    GeneralLedgerPoster,
    CatchUpGlPostingUseCase,
    CloseDayUseCase,
    GetTrialBalanceUseCase,
    ReconcileCellUseCase,
  ],
  exports: [AccountingService, GeneralLedgerPoster],
})
export class AccountingModule {}
