import 'reflect-metadata';

import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AccountModule, AccountService } from '@cellpay/cell-account';
import { AccountingModule, AccountingService } from '@cellpay/cell-accounting';
import { CellPersistenceModule, RandomIdGenerator, SystemClock } from '@cellpay/cell-data-access';
import { AccountKind, type SlotOwnership, type UnitOfWork } from '@cellpay/cell-domain';
import { PaymentModule, PaymentService } from '@cellpay/cell-payment';
import { slotOf } from '@cellpay/routing';

import { CellOutboxSource } from '../cell-outbox-source';
import type { CellRouter } from '../cell-router';
import { CrossCellService } from '../cross-cell.service';
import { SettlementCellModule } from '../settlement-cell.module';
import type { SettlementStore } from '../settlement-records';
import { ApplySettlementEventUseCase } from '../use-cases/apply-settlement-event.use-case';

export interface SettlementCellUnderTest {
  readonly cellId: string;
  readonly unitOfWork: UnitOfWork;
  readonly store: SettlementStore;
  readonly accounts: AccountService;
  readonly payments: PaymentService;
  readonly accounting: AccountingService;
  readonly crossCell: CrossCellService;
  readonly applier: ApplySettlementEventUseCase;
  close(): Promise<void>;
}

/** Boots one cell with its settlement module, the way a cell process composes them. */
export async function startSettlementCell(
  cellId: string,
  unitOfWork: UnitOfWork,
  store: SettlementStore,
  router: CellRouter,
  slotOwnership?: SlotOwnership,
): Promise<SettlementCellUnderTest> {
  const clock = new SystemClock();
  @Module({
    imports: [
      CellPersistenceModule.register({
        unitOfWork,
        clock,
        idGenerator: new RandomIdGenerator(clock),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId, slotCount: 100 },
        ...(slotOwnership === undefined ? {} : { slotOwnership }),
      }),
      AccountingModule,
      AccountModule,
      PaymentModule,
      SettlementCellModule.register({ store, router }),
    ],
  })
  class SettlementCellTestModule {}
  const context = await NestFactory.createApplicationContext(SettlementCellTestModule, {
    logger: false,
  });
  return {
    cellId,
    unitOfWork,
    store,
    accounts: context.get(AccountService),
    payments: context.get(PaymentService),
    accounting: context.get(AccountingService),
    crossCell: context.get(CrossCellService),
    applier: context.get(ApplySettlementEventUseCase),
    close: () => context.close(),
  };
}

/** Users and slots on cells by `slot % cells`, as a routing table with that layout would say. */
export function slotRouter(cellIds: readonly string[]): CellRouter {
  const cellOfSlot = (slot: number): string => cellIds[slot % cellIds.length] ?? 'cell-1';
  return { cellOfUser: (userId) => cellOfSlot(slotOf(userId, 100)), cellOfSlot };
}

/** A user ID (with `prefix`) that `slotRouter` places on `cellId`. */
export function userOn(router: CellRouter, cellId: string, prefix: string): string {
  for (let n = 0; n < 1_000; n++) {
    if (router.cellOfUser(`${prefix}-${n}`) === cellId) return `${prefix}-${n}`;
  }
  throw new Error(`no user for ${cellId}`);
}

/**
 * Moves every committed outbox row of every cell to its destination's applier, in outbox order,
 * until nothing is left (what relay + Kafka + consumer do, without them). Returns events delivered.
 */
export async function deliverAll(
  cells: readonly SettlementCellUnderTest[],
  roundsMax = 20,
): Promise<number> {
  let delivered = 0;
  for (let round = 0; round < roundsMax; round++) {
    let moved = 0;
    for (const cell of cells) {
      const source = new CellOutboxSource(cell.unitOfWork, cell.store);
      const rows = await source.fetchUnpublished(1_000);
      for (const { event } of rows) {
        const destination = cells.find((other) => other.cellId === event.destinationCellId);
        if (destination === undefined) throw new Error(`no cell ${event.destinationCellId}`);
        await destination.applier.apply(event);
      }
      await source.markPublished(rows.map((row) => row.sequence));
      moved += rows.length;
    }
    delivered += moved;
    if (moved === 0) return delivered;
  }
  throw new Error(`still delivering after ${roundsMax} rounds`);
}

export interface PayerAndMerchant {
  readonly merchantId: string;
  readonly merchantAccountId: string;
  readonly payerAccountId: string;
}

/** A merchant in `merchantCell` and a payer in `payerCell` funded with `fundsMinor` CNY. */
export async function payerAndMerchant(
  router: CellRouter,
  payerCell: SettlementCellUnderTest,
  merchantCell: SettlementCellUnderTest,
  tag: string,
  fundsMinor: string,
): Promise<PayerAndMerchant> {
  const merchantId = userOn(router, merchantCell.cellId, `${tag}-shop`);
  const merchant = await merchantCell.accounts.openAccount({
    kind: AccountKind.Merchant,
    ownerId: merchantId,
    currency: 'CNY',
  });
  const payer = await payerCell.accounts.openAccount({
    kind: AccountKind.UserWallet,
    ownerId: userOn(router, payerCell.cellId, `${tag}-payer`),
    currency: 'CNY',
  });
  const funding = await payerCell.accounts.openAccount({
    kind: AccountKind.ExternalFunding,
    ownerId: 'bank',
    currency: 'CNY',
  });
  await payerCell.accounts.topUp({
    clientId: 'bank',
    requestId: `${tag}-fund`,
    fromAccountId: funding.accountId,
    toAccountId: payer.accountId,
    amountMinor: fundsMinor,
    currency: 'CNY',
  });
  return { merchantId, merchantAccountId: merchant.accountId, payerAccountId: payer.accountId };
}
