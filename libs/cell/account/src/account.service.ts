import { Injectable } from '@nestjs/common';

import { TransferKind } from '@cellpay/cell-domain';

import type { AccountView, HoldView, StatementView, TransferView } from './account-views';
import {
  type CaptureHoldRequest,
  HoldsUseCase,
  type PlaceHoldRequest,
} from './use-cases/holds.use-case';
import { type MoveMoneyRequest, MoveMoneyUseCase } from './use-cases/move-money.use-case';
import { type OpenAccountRequest, OpenAccountUseCase } from './use-cases/open-account.use-case';
import { AccountQueriesUseCase } from './use-cases/queries.use-case';

/** The account service ("账务") of a cell: accounts, top-ups, transfers, holds, balances, statements. */
@Injectable()
export class AccountService {
  constructor(
    private readonly openAccountUseCase: OpenAccountUseCase,
    private readonly moveMoney: MoveMoneyUseCase,
    private readonly holds: HoldsUseCase,
    private readonly queries: AccountQueriesUseCase,
  ) {}

  openAccount(request: OpenAccountRequest): Promise<AccountView> {
    return this.openAccountUseCase.execute(request);
  }

  topUp(request: MoveMoneyRequest): Promise<TransferView> {
    return this.moveMoney.execute(TransferKind.TopUp, request);
  }

  transfer(request: MoveMoneyRequest): Promise<TransferView> {
    return this.moveMoney.execute(TransferKind.Transfer, request);
  }

  placeHold(request: PlaceHoldRequest): Promise<HoldView> {
    return this.holds.place(request);
  }

  captureHold(request: CaptureHoldRequest): Promise<TransferView> {
    return this.holds.capture(request);
  }

  voidHold(holdId: string): Promise<HoldView> {
    return this.holds.void(holdId);
  }

  expireHolds(limit: number): Promise<number> {
    return this.holds.expire(limit);
  }

  balance(accountId: string): Promise<AccountView> {
    return this.queries.balance(accountId);
  }

  statement(accountId: string, pageSize: number, cursor: string): Promise<StatementView> {
    return this.queries.statement(accountId, pageSize, cursor);
  }
}
