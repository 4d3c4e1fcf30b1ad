import { Inject, Injectable } from '@nestjs/common';

import {
  CellError,
  CellErrorCode,
  checkPageSize,
  parseId,
  requireAccount,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';

import {
  type AccountView,
  accountView,
  type StatementView,
  statementLineView,
} from '../account-views';

const cursorPattern = /^[1-9]\d{0,18}$/;

/** Balance and statement queries; statements page newest first with an opaque cursor. */
@Injectable()
export class AccountQueriesUseCase {
  constructor(@Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork) {}

  async balance(accountId: string): Promise<AccountView> {
    parseId(accountId, 'account');
    return this.unitOfWork.run('account.balance', async (tx) =>
      accountView(requireAccount(await tx.accounts.findById(accountId), accountId)),
    );
  }

  async statement(accountId: string, pageSize: number, cursor: string): Promise<StatementView> {
    parseId(accountId, 'account');
    const limit = checkPageSize(pageSize);
    if (cursor !== '' && !cursorPattern.test(cursor)) {
      throw new CellError(
        CellErrorCode.MalformedField,
        'cursor is not one this service handed out',
      );
    }
    return this.unitOfWork.run('account.statement', async (tx) => {
      requireAccount(await tx.accounts.findById(accountId), accountId);
      const lines = await tx.journals.listLinesOfAccount(
        accountId,
        cursor === '' ? undefined : BigInt(cursor),
        limit + 1,
      );
      const page = lines.slice(0, limit);
      const last = page.at(-1);
      return {
        accountId,
        lines: page.map(statementLineView),
        nextCursor: lines.length > limit && last !== undefined ? last.sequence.toString() : '',
      };
    });
  }
}
