import { Inject, Injectable } from '@nestjs/common';

import {
  CellError,
  CellErrorCode,
  type ClosedSubjectBalance,
  type Clock,
  trialBalanceOf,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { clockToken, unitOfWorkToken } from '@cellpay/cell-data-access';

import { CatchUpGlPostingUseCase } from './catch-up-gl-posting.use-case';

/** A day may be closed only this long after it ended, so journals committed at midnight are in. */
export const dayCloseGraceMs = 10 * 60 * 1000;
const businessDayPattern = /^\d{4}-\d{2}-\d{2}$/;

export function checkBusinessDay(value: string): string {
  const parsed = businessDayPattern.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(parsed) || new Date(parsed).toISOString().slice(0, 10) !== value) {
    throw new CellError(
      CellErrorCode.MalformedField,
      `business day must be YYYY-MM-DD, got '${value.slice(0, 20)}'`,
    );
  }
  return value;
}

/**
 * Closes a business day: posts any backlog, then freezes the day's subject movements and the
 * closing balance of every subject (the previous close plus the day's credits minus debits).
 * Days close in order and only once; the trial balance must balance or the close is refused.
 */
@Injectable()
export class CloseDayUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    private readonly catchUp: CatchUpGlPostingUseCase,
  ) {}

  async execute(businessDay: string): Promise<readonly ClosedSubjectBalance[]> {
    checkBusinessDay(businessDay);
    const dayEndMs = Date.parse(`${businessDay}T00:00:00Z`) + 24 * 3600 * 1000;
    if (this.clock.now().getTime() < dayEndMs + dayCloseGraceMs) {
      throw new CellError(
        CellErrorCode.InvalidStateTransition,
        `day ${businessDay} has not ended yet`,
      );
    }
    const { backlogCount } = await this.catchUp.execute();
    if (backlogCount > 0) {
      throw new CellError(
        CellErrorCode.InvalidStateTransition,
        `${backlogCount} journals are not posted yet; the day cannot close`,
      );
    }
    return this.unitOfWork.run('accounting.close_day', async (tx) => {
      const latest = await tx.generalLedger.latestClosedDay();
      if (latest !== undefined && latest >= businessDay) {
        throw new CellError(
          CellErrorCode.InvalidStateTransition,
          `day ${businessDay} is not after the last closed day ${latest}`,
        );
      }
      const previous =
        latest === undefined ? [] : ((await tx.generalLedger.findDayClose(latest)) ?? []);
      const movements = await tx.generalLedger.totalsOfDay(businessDay);
      const unbalanced = trialBalanceOf(movements).filter((row) => !row.balanced);
      if (unbalanced.length > 0) {
        throw new CellError(
          CellErrorCode.JournalUnbalanced,
          `trial balance of ${businessDay} is off in ${unbalanced.map((row) => row.currency).join(', ')}`,
        );
      }
      const closing = new Map<string, ClosedSubjectBalance>();
      for (const row of previous) {
        closing.set(`${row.subjectCode}|${row.currency}`, {
          ...row,
          businessDay,
          debitMinor: 0n,
          creditMinor: 0n,
        });
      }
      for (const row of movements) {
        const key = `${row.subjectCode}|${row.currency}`;
        const openingMinor = closing.get(key)?.closingMinor ?? 0n;
        closing.set(key, { ...row, closingMinor: openingMinor + row.creditMinor - row.debitMinor });
      }
      const balances = [...closing.values()].sort((l, r) =>
        `${l.subjectCode}|${l.currency}` < `${r.subjectCode}|${r.currency}` ? -1 : 1,
      );
      await tx.generalLedger.saveDayClose(businessDay, balances);
      return balances;
    });
  }
}
