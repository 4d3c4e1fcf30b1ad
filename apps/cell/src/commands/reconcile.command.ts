import { NestFactory } from '@nestjs/core';

import { AccountingService, reconciliationReportMessage } from '@cellpay/cell-accounting';
import type { CellPersistenceOptions } from '@cellpay/cell-data-access';
import { newRequestId, runInRequestContext } from '@cellpay/observability';

import { CellModule } from '@cellpay/cell-runtime';

export interface ReconcileOptions {
  /** Reconcile the shadow tables (stress traffic) alone, by the same rules, instead of the live ones. */
  readonly shadow: boolean;
}

/**
 * Prints the cell's reconciliation report as JSON; the exit code is 1 if it found a difference.
 * The live report never reads a shadow table; `--shadow` reads nothing but shadow tables.
 */
export async function reconcileCommand(
  persistence: CellPersistenceOptions,
  write: (text: string) => void,
  options: ReconcileOptions = { shadow: false },
): Promise<number> {
  const context = await NestFactory.createApplicationContext(CellModule.register(persistence), {
    logger: false,
  });
  try {
    const accounting = context.get(AccountingService);
    const report = await runInRequestContext(
      { requestId: newRequestId(), stress: options.shadow },
      () => accounting.reconcile(),
    );
    write(`${JSON.stringify(reconciliationReportMessage(report), null, 2)}\n`);
    return report.clean ? 0 : 1;
  } finally {
    await context.close();
  }
}
