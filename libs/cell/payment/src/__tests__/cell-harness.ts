import 'reflect-metadata';

import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AccountModule, AccountService } from '@cellpay/cell-account';
import { AccountingModule, AccountingService } from '@cellpay/cell-accounting';
import { CellPersistenceModule } from '@cellpay/cell-data-access';
import {
  ManualClock,
  SequenceIdGenerator,
  type SlotVerdict,
  type UnitOfWork,
} from '@cellpay/cell-domain';

import { PaymentModule } from '../payment.module';
import { PaymentService } from '../payment.service';

export interface CellUnderTest {
  readonly accounts: AccountService;
  readonly payments: PaymentService;
  readonly accounting: AccountingService;
  readonly clock: ManualClock;
  /** Flip the general-ledger deferral switch. */
  deferGlPosting(deferred: boolean): void;
  /** What the routing table says of a user slot (undefined: owned), as a follower would. */
  setSlotVerdict(slot: number, verdict: SlotVerdict | undefined): void;
  close(): Promise<void>;
}

/** Boots the three services of one cell on the given unit of work, the way the cell process does. */
export async function startCell(unitOfWork: UnitOfWork, idTag = 'T'): Promise<CellUnderTest> {
  const clock = new ManualClock(new Date(Date.UTC(2026, 4, 1, 8, 0, 0)));
  let glDeferred = false;
  const verdicts = new Map<number, SlotVerdict>();
  @Module({
    imports: [
      CellPersistenceModule.register({
        unitOfWork,
        clock,
        idGenerator: new SequenceIdGenerator(idTag),
        glPostingSwitch: { isGlPostingDeferred: () => glDeferred },
        settings: { cellId: 'cell-1', slotCount: 100 },
        slotOwnership: {
          verdictOf: (slot) => verdicts.get(slot) ?? { kind: 'owned' },
          epoch: () => undefined,
        },
      }),
      AccountingModule,
      AccountModule,
      PaymentModule,
    ],
  })
  class CellTestModule {}
  const context: INestApplicationContext = await NestFactory.createApplicationContext(
    CellTestModule,
    { logger: false },
  );
  return {
    accounts: context.get(AccountService),
    payments: context.get(PaymentService),
    accounting: context.get(AccountingService),
    clock,
    deferGlPosting: (deferred) => {
      glDeferred = deferred;
    },
    setSlotVerdict: (slot, verdict) => {
      if (verdict === undefined) verdicts.delete(slot);
      else verdicts.set(slot, verdict);
    },
    close: () => context.close(),
  };
}
