import type { Command } from 'commander';

import { mysqlEndpointOf } from '@cellpay/connections';
import { newRequestId, runInRequestContext } from '@cellpay/observability';
import {
  type CellShard,
  reconcileShards,
  type ShardReconciliationResult,
} from '@cellpay/settlement-cell';

import type { CommandRunner } from '../cellctl';
import { table } from '../terminal';

/** Differences printed per cell in the table view; `--json` prints all the report holds. */
const differencesShownMax = 20;

/** The cells to reconcile: the one named, or every configured cell. */
function selectShards(
  configured: readonly { readonly cellId: string; readonly url: string }[],
  cell: string | undefined,
): CellShard[] {
  if (configured.length === 0) {
    throw new Error('no cell shards configured: set CELLPAY_CELL_SHARDS or pass --local');
  }
  const chosen = cell === undefined ? configured : configured.filter((c) => c.cellId === cell);
  if (chosen.length === 0) {
    const known = configured.map((c) => c.cellId).join(', ');
    throw new Error(`unknown cell ${cell ?? ''}; configured cells: ${known}`);
  }
  return chosen.map((shard) => {
    const endpoint = mysqlEndpointOf(shard.url, 'CELLPAY_CELL_SHARDS');
    return { cellId: shard.cellId, endpoint: { ...endpoint, database: endpoint.database ?? '' } };
  });
}

/** JSON-safe: amounts are bigint in the reports and become decimal strings here. */
function toJson(result: ShardReconciliationResult): string {
  return JSON.stringify(
    result,
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
    2,
  );
}

function render(result: ShardReconciliationResult): string[] {
  const lines: string[] = [];
  lines.push(
    table(
      ['cell', 'result', 'accounts', 'journals', 'payments', 'refunds', 'differences'],
      result.cells.map(({ cellId, report }) => [
        cellId,
        report.clean ? 'clean' : 'DIFFERENCES',
        String(report.accountsChecked),
        String(report.journalsChecked),
        String(report.paymentsChecked),
        String(report.refundsChecked),
        String(report.differenceCount),
      ]),
    ),
  );
  for (const { cellId, report } of result.cells) {
    if (report.clean) continue;
    lines.push('', `${cellId}: first ${differencesShownMax} of ${report.differenceCount}`);
    lines.push(
      table(
        ['rule', 'subject', 'currency', 'expected', 'actual', 'difference'],
        report.differences
          .slice(0, differencesShownMax)
          .map((d) => [
            d.rule,
            d.subjectId,
            d.currency,
            d.expectedMinor.toString(),
            d.actualMinor.toString(),
            d.differenceMinor.toString(),
          ]),
      ),
    );
  }
  const global = result.global;
  if (global !== undefined) {
    const state = global.quiet ? 'quiet' : 'money in flight';
    lines.push('', `global: ${global.clean ? 'clean' : 'DIFFERENCES'} (${state})`);
    if (global.pairs.length > 0) {
      lines.push(
        table(
          ['pair', 'currency', 'clearing net', 'in flight', 'events', 'difference'],
          global.pairs.map((pair) => [
            `${pair.cellA}<->${pair.cellB}`,
            pair.currency,
            pair.clearingNetMinor,
            pair.inFlightMinor,
            String(pair.inFlightCount),
            pair.differenceMinor,
          ]),
        ),
      );
    }
  }
  return lines;
}

export function registerReconcileCommand(program: Command, run: CommandRunner): void {
  program
    .command('reconcile')
    .description(
      "reconcile one cell's books, or every cell and the clearing pairs between them (--global)",
    )
    .argument('[cell]', 'the cell to reconcile (default: every configured cell)')
    .option('--global', 'also check every pair of cells: clearing accounts net to money in flight')
    .option('--shadow', 'reconcile the shadow tables of stress traffic instead of the live ones')
    .option('--json', 'print the full reports as JSON')
    .action(
      (cell: string | undefined, options: { global?: boolean; shadow?: boolean; json?: boolean }) =>
        run(async ({ context, terminal }) => {
          const global = options.global === true;
          if (global && cell !== undefined) {
            throw new Error('--global reconciles every cell; do not name one');
          }
          const shards = selectShards(context.settings.cellShardUrls, cell);
          // The shards' stores pick live or shadow tables from the request context, as a stress
          // request does in the cell (docs/shadow-traffic.md).
          const stress = options.shadow === true;
          const reconcile = () => reconcileShards(shards, { global });
          const result = await runInRequestContext(
            { requestId: newRequestId(), stress },
            reconcile,
          ).catch((error: unknown) => {
            if ((error as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw error;
            throw new Error(
              `${(error as Error).message}: a cell shard is not migrated ` +
                "(run the cell's 'migrate' command, or 'npm run cluster:up' locally)",
            );
          });
          if (stress) terminal.out('shadow tables (stress traffic):');
          if (options.json === true) terminal.out(toJson(result));
          else for (const line of render(result)) terminal.out(line);
          const clean = result.cells.every((c) => c.report.clean) && (result.global?.clean ?? true);
          // A difference is a failed check: the exit code says so to scripts and drills.
          if (!clean) throw new Error('reconciliation found differences (see above)');
        }),
    );
}
