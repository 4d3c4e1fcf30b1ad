import { Inject, Injectable } from '@nestjs/common';

import {
  type SubjectDayBalance,
  trialBalanceOf,
  type TrialBalanceRow,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';

import { checkBusinessDay } from './close-day.use-case';

export interface DayReport {
  readonly businessDay: string;
  readonly closed: boolean;
  readonly subjects: readonly SubjectDayBalance[];
  readonly trialBalance: readonly TrialBalanceRow[];
}

/** Per-day subject balances and the trial balance: from the close if the day is closed, else live. */
@Injectable()
export class GetTrialBalanceUseCase {
  constructor(@Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork) {}

  async execute(businessDay: string): Promise<DayReport> {
    checkBusinessDay(businessDay);
    return this.unitOfWork.run('accounting.trial_balance', async (tx) => {
      const closed = await tx.generalLedger.findDayClose(businessDay);
      const subjects = closed ?? (await tx.generalLedger.totalsOfDay(businessDay));
      return {
        businessDay,
        closed: closed !== undefined,
        subjects,
        trialBalance: trialBalanceOf(subjects),
      };
    });
  }
}
