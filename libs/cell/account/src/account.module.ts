import { Module } from '@nestjs/common';

import { AccountingModule } from '@cellpay/cell-accounting';

import { AccountService } from './account.service';
import { HoldLedger } from './hold-ledger';
import { LedgerPoster } from './ledger-poster';
import { HoldsUseCase } from './use-cases/holds.use-case';
import { MoveMoneyUseCase } from './use-cases/move-money.use-case';
import { OpenAccountUseCase } from './use-cases/open-account.use-case';
import { AccountQueriesUseCase } from './use-cases/queries.use-case';
import { AccountGrpcController } from './grpc/account.grpc-controller';

/** The account service of a cell; exports the ledger so payments post in their own transaction. */
@Module({
  controllers: [AccountGrpcController],
  imports: [AccountingModule],
  providers: [
    AccountService,
    LedgerPoster,
    HoldLedger,
    OpenAccountUseCase,
    MoveMoneyUseCase,
    HoldsUseCase,
    AccountQueriesUseCase,
  ],
  exports: [AccountService, LedgerPoster, HoldLedger],
})
export class AccountModule {}
