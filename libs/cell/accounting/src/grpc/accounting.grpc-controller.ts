import { Controller } from '@nestjs/common';

import type { ClosedSubjectBalance, SubjectDayBalance } from '@cellpay/cell-domain';
import { cellV1 } from '@cellpay/proto';

import { AccountingService } from '../accounting.service';
import type { DayReport } from '../use-cases/get-trial-balance.use-case';
import type { ReconciliationReport } from '../use-cases/reconcile-cell.use-case';

function subjectBalance(row: SubjectDayBalance | ClosedSubjectBalance): cellV1.SubjectBalance {
  return {
    subjectCode: row.subjectCode,
    currency: row.currency,
    debitMinor: row.debitMinor.toString(),
    creditMinor: row.creditMinor.toString(),
    closingMinor: 'closingMinor' in row ? row.closingMinor.toString() : '',
  };
}

function dayReport(report: DayReport): cellV1.DayReport {
  return {
    businessDay: report.businessDay,
    closed: report.closed,
    subjects: report.subjects.map(subjectBalance),
    trialBalance: report.trialBalance.map((row) => ({
      currency: row.currency,
      debitMinor: row.debitMinor.toString(),
      creditMinor: row.creditMinor.toString(),
      balanced: row.balanced,
    })),
  };
}

export function reconciliationReportMessage(
  report: ReconciliationReport,
): cellV1.ReconciliationReport {
  return {
    ...report,
    differences: report.differences.map((difference) => ({
      rule: difference.rule,
      subjectId: difference.subjectId,
      currency: difference.currency,
      expectedMinor: difference.expectedMinor.toString(),
      actualMinor: difference.actualMinor.toString(),
      differenceMinor: difference.differenceMinor.toString(),
    })),
  };
}

/** The accounting service on gRPC: chart, trial balance, day close, GL catch-up, reconciliation. */
@Controller()
@cellV1.AccountingServiceControllerMethods()
export class AccountingGrpcController implements cellV1.AccountingServiceController {
  constructor(private readonly accounting: AccountingService) {}

  getChartOfAccounts(): cellV1.ChartOfAccounts {
    return { subjects: [...this.accounting.chartOfAccounts()] };
  }

  async getTrialBalance(request: cellV1.BusinessDayRequest): Promise<cellV1.DayReport> {
    return dayReport(await this.accounting.trialBalance(request.businessDay));
  }

  async closeDay(request: cellV1.BusinessDayRequest): Promise<cellV1.DayReport> {
    await this.accounting.closeDay(request.businessDay);
    return dayReport(await this.accounting.trialBalance(request.businessDay));
  }

  catchUpGlPosting(): Promise<cellV1.CatchUpGlPostingResult> {
    return this.accounting.catchUp();
  }

  async reconcile(): Promise<cellV1.ReconciliationReport> {
    return reconciliationReportMessage(await this.accounting.reconcile());
  }
}
