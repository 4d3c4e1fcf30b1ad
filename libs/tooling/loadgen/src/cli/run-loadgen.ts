import { join, resolve } from 'node:path';
import { runLoad } from '../engine/load-engine';
import { seededRandom } from '../engine/seeded-random';
import { OperationPicker } from '../mix/operation-mix';
import { createProfile } from '../profile/load-profile';
import type { LoadRunReport, SettlementLagPercentiles } from '../report/curve';
import { writeLoadReport } from '../report/report-writer';
import { FakeTarget } from '../target/fake.target';
import { gatewayTargetOn, provisionLocalFleet } from '../target/gateway/gateway-run';
import {
  LocalClusterNotFoundError,
  localClusterSettingsFromEnv,
} from '../target/gateway/local-cluster';
import { type LoadTarget, TargetSetupError } from '../target/load-target';
import {
  type LoadgenOptions,
  LoadgenUsageError,
  loadgenUsage,
  parseLoadgenOptions,
} from './loadgen-options';
import { type ProgressStream, progressPrinter } from './progress-line';

export interface LoadgenIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** The environment the gateway target finds the cluster with (CELLPAY_CLUSTER_DIR, ...). */
  readonly env?: NodeJS.ProcessEnv;
  /** The repository (cellctl's build, default cluster folder); the working directory by default. */
  readonly repositoryRoot?: string;
  /** The folder reports go under when --out is not given. */
  readonly reportsRoot: string;
  /** Aborting it stops the run early; what was measured is still written. */
  readonly signal?: AbortSignal;
}

/** Builds the target a run names; the gateway target first finds the cluster and provisions on it. */
export async function createTarget(options: LoadgenOptions, io: LoadgenIo): Promise<LoadTarget> {
  switch (options.target) {
    case 'fake':
      return new FakeTarget(options.fake);
    case 'gateway': {
      const env = io.env ?? process.env;
      const repositoryRoot = io.repositoryRoot ?? process.cwd();
      const flags = options.gateway;
      const fromEnv = localClusterSettingsFromEnv(env, repositoryRoot);
      const log = (line: string): void => {
        io.stderr.write(`${line}\n`);
      };
      const provisioned = await provisionLocalFleet(
        {
          cluster: {
            ...fromEnv,
            clusterDir:
              flags.clusterDir === undefined ? fromEnv.clusterDir : resolve(flags.clusterDir),
            gatewayAddress: flags.gatewayAddress,
            cellAddresses: flags.cellAddresses,
          },
          env,
          cells: flags.cells,
          payers: flags.payers,
          merchantsPerCell: flags.merchantsPerCell,
          topUpMinor: flags.topUpMinor,
          live: flags.live,
          currency: 'CNY',
        },
        log,
      );
      return gatewayTargetOn(
        provisioned,
        {
          payers: flags.payers,
          topUpMinor: flags.topUpMinor,
          live: flags.live,
          crossCell: options.mix.weights.pay_cross_cell > 0,
          seed: options.seed,
        },
        log,
      );
    }
  }
}

/** `npm run loadgen`: parse, run, write the report, print where it is. Returns the exit code. */
export async function runLoadgenCli(argv: readonly string[], io: LoadgenIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(loadgenUsage);
    return 0;
  }
  let options: LoadgenOptions;
  try {
    options = parseLoadgenOptions(argv);
  } catch (error) {
    if (!(error instanceof LoadgenUsageError)) throw error;
    io.stderr.write(`loadgen: ${error.message}\n\n${loadgenUsage}`);
    return 2;
  }
  const profile = createProfile({
    kind: options.profile,
    rate: options.rate,
    durationSeconds: options.durationSeconds,
    steps: options.steps,
  });
  let report: LoadRunReport;
  const progress = progressPrinter(io.stderr, profile.durationSeconds);
  try {
    report = await runLoad({
      profile,
      picker: new OperationPicker(options.mix, seededRandom(options.seed)),
      target: await createTarget(options, io),
      inFlightMax: options.inFlightMax,
      requestCountMax: options.requestCountMax,
      drainTimeoutMs: options.drainTimeoutMs,
      seed: options.seed,
      onProgress: (snapshot) => progress.print(snapshot),
      signal: io.signal,
    });
  } catch (error) {
    if (!(error instanceof LocalClusterNotFoundError || error instanceof TargetSetupError)) {
      throw error;
    }
    io.stderr.write(`loadgen: ${error.message}\n`);
    return 3;
  }
  progress.end();
  const directory =
    options.outputDirectory ??
    join(io.reportsRoot, report.summary.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z'));
  const written = writeLoadReport(report, directory);
  const { summary } = report;
  const latency = summary.latencyMs;
  io.stdout.write(
    [
      `scheduled ${summary.scheduled}, ok ${summary.ok}, errors ${summary.errorCount}, dropped ${summary.dropped}, unfinished ${summary.unfinished}${summary.interrupted ? ' (interrupted)' : ''}`,
      latency === null
        ? 'latency: none completed'
        : `latency ms: p50 ${round(latency.p50)}, p95 ${round(latency.p95)}, p99 ${round(latency.p99)}, max ${round(latency.max)}`,
      settlementLine(summary.settlementLagMs, summary.settlementUnsettled),
      `report: ${written.htmlPath}`,
      `data:   ${written.csvPath}, ${written.jsonPath}`,
      `chart:  ${written.pngPath}`,
    ].join('\n') + '\n',
  );
  if (written.fontFile === undefined) {
    io.stderr.write(
      'loadgen: no DejaVu Sans font found (install fonts-dejavu-core or set CELLPAY_CHART_FONT_FILE); the PNG used system fonts, if any\n',
    );
  }
  return 0;
}

function settlementLine(lag: SettlementLagPercentiles | null, unsettled: number): string {
  const lagText =
    lag === null
      ? 'none settled'
      : `${lag.count} settled, p50 ${round(lag.p50)}, p99 ${round(lag.p99)}, max ${round(lag.max)}`;
  return `settlement lag ms: ${lagText}; unsettled ${unsettled}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
