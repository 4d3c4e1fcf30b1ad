import { Injectable } from '@nestjs/common';

import { chartOfAccounts, type ClosedSubjectBalance, type Subject } from '@cellpay/cell-domain';

import {
  CatchUpGlPostingUseCase,
  type GlCatchUpResult,
} from './use-cases/catch-up-gl-posting.use-case';
import { CloseDayUseCase } from './use-cases/close-day.use-case';
import { type DayReport, GetTrialBalanceUseCase } from './use-cases/get-trial-balance.use-case';
import {
  ReconcileCellUseCase,
  type ReconciliationReport,
} from './use-cases/reconcile-cell.use-case';

/** The accounting service ("会计"): the general ledger on top of the journals, and reconciliation. */
@Injectable()
export class AccountingService {
  constructor(
    private readonly catchUpGlPosting: CatchUpGlPostingUseCase,
    private readonly closeDayUseCase: CloseDayUseCase,
    private readonly getTrialBalance: GetTrialBalanceUseCase,
    private readonly reconcileCell: ReconcileCellUseCase,
  ) {}

  chartOfAccounts(): readonly (Subject & { readonly accountKind: string })[] {
    return Object.entries(chartOfAccounts).map(([accountKind, subject]) => ({
      ...subject,
      accountKind,
    }));
  }

  catchUp(): Promise<GlCatchUpResult> {
    return this.catchUpGlPosting.execute();
  }

  closeDay(businessDay: string): Promise<readonly ClosedSubjectBalance[]> {
    return this.closeDayUseCase.execute(businessDay);
  }

  trialBalance(businessDay: string): Promise<DayReport> {
    return this.getTrialBalance.execute(businessDay);
  }

  reconcile(): Promise<ReconciliationReport> {
    return this.reconcileCell.execute();
  }
}
