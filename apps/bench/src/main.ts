// `npm run bench`: measures cellpay on the real local stack and prints a table; with --record it
// appends the table to docs/benchmarks.md with the date, the machine and the commit.
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

import { Command } from 'commander';

import { type BenchCluster, startBenchCluster } from './bench-cluster';
import { mysqlCommitBatchingDefault } from '@cellpay/cell-data-access';

import { benchCellPayments, benchReference, type CellBenchOptions } from './cell-bench';
import { benchGatewayPayments, type GatewayRunResult } from './gateway-bench';
import { percentile, type RunResult } from './measure';

/** Figures (not money) with a fixed number of decimals, no grouping. */
function decimals(value: number, digits: number): string {
  return new Intl.NumberFormat('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: false,
  }).format(value);
}

interface Row {
  readonly scenario: string;
  readonly result: RunResult;
  readonly note: string;
}

function format(row: Row): string[] {
  const r = row.result;
  const seconds = r.elapsedMs / 1000;
  const errors = [...r.errors].map(([code, n]) => `${code}: ${n}`).join(', ') || '0';
  let errorCount = 0;
  for (const count of r.errors.values()) errorCount += count;
  // Throughput counts payments that succeeded; latency percentiles cover every attempt.
  const succeeded = r.operations - errorCount;
  return [
    row.scenario,
    String(succeeded),
    decimals(succeeded / seconds, 0),
    decimals(percentile(r.latenciesMs, 0.5), 1),
    decimals(percentile(r.latenciesMs, 0.95), 1),
    decimals(percentile(r.latenciesMs, 0.99), 1),
    decimals(r.latenciesMs[r.latenciesMs.length - 1] ?? 0, 1),
    decimals(r.cpuMs / Math.max(1, succeeded), 2),
    errors,
    row.note,
  ];
}

const headers = [
  'scenario',
  'payments',
  'per s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
  'CPU ms/payment',
  'errors',
  'note',
];

function markdown(rows: readonly string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const program = new Command('bench')
    .option('--duration <seconds>', 'seconds per scenario', '15')
    .option('--concurrency <clients>', 'concurrent clients', '32')
    .option('--payers <n>', 'payer wallets', '400')
    .option('--merchants <n>', 'merchants', '50')
    .option('--operations-max <n>', 'hard cap on payments per scenario', '200000')
    .option('--gateway-payers <n>', 'payer wallets per run through the gateway', '150')
    .option('--budget-minutes <n>', 'scenarios that would end past this are skipped', '15')
    .option('--no-gateway', 'skip the runs through the gateway (they start their own cluster)')
    .option('--no-batching', 'skip the in-process rows with commit batching on')
    .option(
      '--batch-size-max <n>',
      'commit batching: units per batch transaction at most',
      String(mysqlCommitBatchingDefault.batchSizeMax),
    )
    .option(
      '--batch-wait-ms <ms>',
      'commit batching: wait window of a lone unit',
      String(mysqlCommitBatchingDefault.batchWaitMsMax),
    )
    .option(
      '--batches-in-flight <n>',
      'commit batching: batch transactions at once',
      String(mysqlCommitBatchingDefault.batchesInFlightMax),
    )
    .option('--record', 'append the results to docs/benchmarks.md')
    .parse();
  const flags = program.opts<{
    duration: string;
    concurrency: string;
    payers: string;
    merchants: string;
    operationsMax: string;
    gatewayPayers: string;
    budgetMinutes: string;
    gateway: boolean;
    batching: boolean;
    batchSizeMax: string;
    batchWaitMs: string;
    batchesInFlight: string;
    record?: boolean;
  }>();
  const startedAt = performance.now();
  const budgetMs = Number(flags.budgetMinutes) * 60_000;
  const base: CellBenchOptions = {
    durationMs: Number(flags.duration) * 1000,
    concurrency: Number(flags.concurrency),
    operationsMax: Number(flags.operationsMax),
    payers: Number(flags.payers),
    merchants: Number(flags.merchants),
    hotMerchantShare: 0,
  };
  const rows: Row[] = [];
  const say = (text: string) => process.stderr.write(`${text}\n`);

  say('reference: plain mysql2, the recorded SQL of one payment per transaction ...');
  const reference = await benchReference(base);
  rows.push({
    scenario: 'mysql2 reference (same SQL, one payment per transaction)',
    result: reference,
    note: `${reference.statementsPerPayment} statements per payment`,
  });
  say('cell: same-cell payments through the payment service on MySQL ...');
  rows.push({
    scenario: 'cell pay, in-process, same cell',
    result: await benchCellPayments(base),
    note: `${base.merchants} merchants, even spread`,
  });
  say('cell: hot merchant (50% of payments to one merchant) ...');
  rows.push({
    scenario: 'cell pay, hot merchant 50%',
    result: await benchCellPayments({ ...base, hotMerchantShare: 0.5 }),
    note: 'one merchant receives half',
  });

  if (flags.batching) {
    await benchWithBatching(
      {
        ...base,
        batching: {
          ...mysqlCommitBatchingDefault,
          batchSizeMax: Number(flags.batchSizeMax),
          batchWaitMsMax: Number(flags.batchWaitMs),
          batchesInFlightMax: Number(flags.batchesInFlight),
        },
      },
      rows,
      say,
    );
  }

  const skipped: string[] = [];
  if (flags.gateway) {
    await benchThroughGateway(base, Number(flags.gatewayPayers), rows, skipped, {
      remainingMs: () => budgetMs - (performance.now() - startedAt),
      say,
    });
  }

  const table = rows.map(format);
  const text = markdown(table);
  process.stdout.write(`${text}\n`);
  if (flags.record === true) {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${decimals(totalmem() / 2 ** 30, 0)} GiB`;
    appendFileSync(
      'docs/benchmarks.md',
      `\n## ${new Date().toISOString()} — commit ${commit}\n\nMachine: ${machine}; Node ${process.version}; ` +
        `${base.concurrency} clients, ${flags.duration} s per scenario, ${base.payers} payers, ${base.merchants} merchants; ` +
        `everything on this one machine.\n\n${text}\n` +
        (skipped.length > 0 ? `\nSkipped (time budget): ${skipped.join('; ')}.\n` : ''),
    );
  }
}

/** The two in-process rows again with commit batching on, with the batch sizes they reached. */
async function benchWithBatching(
  options: CellBenchOptions & { batching: NonNullable<CellBenchOptions['batching']> },
  rows: Row[],
  say: (text: string) => void,
): Promise<void> {
  const limits = `batches of ≤ ${options.batching.batchSizeMax}, ${options.batching.batchesInFlightMax} in flight, wait ${options.batching.batchWaitMsMax} ms`;
  for (const [scenario, hotMerchantShare] of [
    ['cell pay, in-process, same cell, commit batching', 0],
    ['cell pay, hot merchant 50%, commit batching', 0.5],
  ] as const) {
    say(`${scenario} ...`);
    const result = await benchCellPayments({ ...options, hotMerchantShare });
    const { batchesCommitted, unitsCommittedInBatches, batchesAbandoned, unitsRunAlone } =
      result.batching;
    const meanSize = decimals(unitsCommittedInBatches / Math.max(1, batchesCommitted), 1);
    rows.push({
      scenario,
      result,
      note: `${limits}; ${batchesCommitted} batches of ${meanSize} on average, ${batchesAbandoned} abandoned, ${unitsRunAlone} units alone`,
    });
  }
}

/** What setting up one gateway run (payers) and the cluster itself may take, for the budget. */
const gatewayRunSetupMsMax = 45_000;
const benchClusterStartMsMax = 150_000;
/**
 * The unmeasured warm-up before the first gateway scenario: a fresh cluster's processes JIT-compile,
 * open their pools and create their Kafka topics during their first seconds, which the first
 * measured row would otherwise pay for. Bounded in time, payers and payments.
 */
export const gatewayWarmUp = {
  durationMs: 8_000,
  payers: 30,
  operationsMax: 5_000,
  crossCellShare: 0.3,
} as const;
/** A cross-cell row also waits for the settlement of its last followed payments (bounded). */
const settlementTailMsMax = 30_200;

/** The cross-cell row's settlement lag, for its note. */
function settlementNote(result: GatewayRunResult): string {
  const lag = result.settlementLagMs;
  const unsettled =
    result.settlementUnsettled > 0 ? `, ${result.settlementUnsettled} unsettled` : '';
  if (lag === null) return `settlement lag: none settled${unsettled}`;
  return `settlement lag p50 ${decimals(lag.p50, 0)} ms, p99 ${decimals(lag.p99, 0)} ms (${lag.count} followed${unsettled})`;
}

/**
 * End to end through the gateway on a cluster of the bench's own: same-cell payments, a 30 %
 * cross-cell mix, and same-cell payments of users of 1, 2 and 3 cells (the scaling rows; cells
 * without users idle). Scenarios that would end past the time budget are skipped and named.
 */
async function benchThroughGateway(
  base: CellBenchOptions,
  payers: number,
  rows: Row[],
  skipped: string[],
  budget: { remainingMs(): number; say(text: string): void },
): Promise<void> {
  const warmUpMs = gatewayWarmUp.durationMs + gatewayRunSetupMsMax;
  if (
    budget.remainingMs() <
    benchClusterStartMsMax + warmUpMs + base.durationMs + gatewayRunSetupMsMax
  ) {
    skipped.push('every run through the gateway');
    return;
  }
  let cluster: BenchCluster | undefined;
  try {
    cluster = await startBenchCluster({ merchantsPerCell: 2, payers }, budget.say);
    const cells = cluster.fleet.cells;
    budget.say(`gateway warm-up (${gatewayWarmUp.durationMs / 1000} s, not measured) ...`);
    await benchGatewayPayments(
      cluster,
      {
        ...base,
        durationMs: gatewayWarmUp.durationMs,
        operationsMax: gatewayWarmUp.operationsMax,
        cells,
        crossCellShare: gatewayWarmUp.crossCellShare,
        payers: gatewayWarmUp.payers,
        seed: 0,
      },
      budget.say,
    );
    const scenarios = [
      { scenario: `gateway pay, same cell, ${cells.length} cells`, cells, crossCellShare: 0 },
      {
        scenario: `gateway pay, 30% cross-cell, ${cells.length} cells`,
        cells,
        crossCellShare: 0.3,
      },
      ...[1, 2]
        .filter((count) => count < cells.length)
        .map((count) => ({
          scenario: `gateway pay, same cell, users of ${count} cell${count > 1 ? 's' : ''}`,
          cells: cells.slice(0, count),
          crossCellShare: 0,
        })),
    ];
    for (const [index, scenario] of scenarios.entries()) {
      const tailMs = scenario.crossCellShare > 0 ? settlementTailMsMax : 0;
      if (budget.remainingMs() < base.durationMs + gatewayRunSetupMsMax + tailMs) {
        skipped.push(scenario.scenario);
        continue;
      }
      budget.say(`${scenario.scenario} ...`);
      const result = await benchGatewayPayments(
        cluster,
        {
          ...base,
          cells: scenario.cells,
          crossCellShare: scenario.crossCellShare,
          payers,
          seed: index + 1,
        },
        budget.say,
      );
      const cellsNote = `${scenario.cells.join('+')}; CPU: gateway, cells, their mariadbd`;
      rows.push({
        scenario: scenario.scenario,
        result,
        note: scenario.crossCellShare > 0 ? `${cellsNote}; ${settlementNote(result)}` : cellsNote,
      });
    }
  } finally {
    await cluster?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
