import { Controller } from '@nestjs/common';

import { cellV1 } from '@cellpay/proto';

import { AccountService } from '../account.service';

/** The account service on gRPC: thin, every rule lives in the use cases. */
@Controller()
@cellV1.AccountServiceControllerMethods()
export class AccountGrpcController implements cellV1.AccountServiceController {
  constructor(private readonly accounts: AccountService) {}

  openAccount(request: cellV1.OpenAccountRequest): Promise<cellV1.Account> {
    return this.accounts.openAccount(request);
  }

  topUp(request: cellV1.MoveMoneyRequest): Promise<cellV1.Transfer> {
    return this.accounts.topUp(request);
  }

  transferMoney(request: cellV1.MoveMoneyRequest): Promise<cellV1.Transfer> {
    return this.accounts.transfer(request);
  }

  placeHold(request: cellV1.PlaceHoldRequest): Promise<cellV1.Hold> {
    return this.accounts.placeHold(request);
  }

  captureHold(request: cellV1.CaptureHoldRequest): Promise<cellV1.Transfer> {
    return this.accounts.captureHold(request);
  }

  voidHold(request: cellV1.VoidHoldRequest): Promise<cellV1.Hold> {
    return this.accounts.voidHold(request.holdId);
  }

  getBalance(request: cellV1.GetBalanceRequest): Promise<cellV1.Account> {
    return this.accounts.balance(request.accountId);
  }

  async getStatement(request: cellV1.GetStatementRequest): Promise<cellV1.Statement> {
    const statement = await this.accounts.statement(
      request.accountId,
      request.pageSize,
      request.cursor,
    );
    return { ...statement, lines: [...statement.lines] };
  }
}
