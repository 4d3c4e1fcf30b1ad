import 'reflect-metadata';

import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AccountService } from '@cellpay/cell-account';
import { AccountingService } from '@cellpay/cell-accounting';
import type { CellPersistenceOptions } from '@cellpay/cell-data-access';
import { PaymentService } from '@cellpay/cell-payment';

import { CellModule } from './cell.module';

/** A cell's three services running in this process, without a network listener. */
export interface CellContext {
  readonly accounts: AccountService;
  readonly payments: PaymentService;
  readonly accounting: AccountingService;
  close(): Promise<void>;
}

/**
 * Boots one cell in-process on the given ports (unit of work, clock, IDs, switch): what the
 * embedded platform, the benchmarks and the simulator run; the cell process adds gRPC on top.
 */
export async function startCellContext(persistence: CellPersistenceOptions): Promise<CellContext> {
  const context: INestApplicationContext = await NestFactory.createApplicationContext(
    CellModule.register(persistence),
    { logger: false },
  );
  return {
    accounts: context.get(AccountService),
    payments: context.get(PaymentService),
    accounting: context.get(AccountingService),
    close: () => context.close(),
  };
}
