import { Inject, Injectable } from '@nestjs/common';

import type { UnitOfWork } from '@cellpay/cell-domain';
import { unitOfWorkToken } from '@cellpay/cell-data-access';

import { GeneralLedgerPoster } from '../general-ledger-poster';

/** Journals posted per catch-up transaction; keeps each transaction short. */
export const glCatchUpBatchSizeMax = 500;
/** Batches per catch-up run; the next run continues where this one stopped. */
export const glCatchUpBatchesMax = 200;

export interface GlCatchUpResult {
  readonly postedCount: number;
  readonly backlogCount: number;
}

/** Posts deferred journals to the general ledger in bounded batches, oldest first. */
@Injectable()
export class CatchUpGlPostingUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    private readonly poster: GeneralLedgerPoster,
  ) {}

  async execute(): Promise<GlCatchUpResult> {
    let postedCount = 0;
    for (let batch = 0; batch < glCatchUpBatchesMax; batch++) {
      const posted = await this.unitOfWork.run('accounting.catch_up', (tx) =>
        this.poster.postBacklog(tx, glCatchUpBatchSizeMax),
      );
      postedCount += posted;
      if (posted < glCatchUpBatchSizeMax) break;
    }
    const backlogCount = await this.unitOfWork.run('accounting.backlog', (tx) =>
      tx.generalLedger.countUnpostedJournals(),
    );
    return { postedCount, backlogCount };
  }
}
