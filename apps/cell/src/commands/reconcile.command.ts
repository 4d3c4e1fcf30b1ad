import { NestFactory } from '@nestjs/core';

import { AccountingService, reconciliationReportMessage } from '@cellpay/cell-accounting';
import type { CellPersistenceOptions } from '@cellpay/cell-data-access';

import { CellModule } from '@cellpay/cell-server';

/** Prints the cell's reconciliation report as JSON; the exit code is 1 if it found a difference. */
export async function reconcileCommand(
  persistence: CellPersistenceOptions,
  write: (text: string) => void,
): Promise<number> {
  const context = await NestFactory.createApplicationContext(CellModule.register(persistence), {
    logger: false,
  });
  try {
    const report = await context.get(AccountingService).reconcile();
    write(`${JSON.stringify(reconciliationReportMessage(report), null, 2)}\n`);
    return report.clean ? 0 : 1;
  } finally {
    await context.close();
  }
}
