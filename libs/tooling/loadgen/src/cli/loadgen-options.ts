import { parseArgs } from 'node:util';
import { loadRunLimits } from '../engine/load-engine';
import {
  type OperationMix,
  defaultOperationMix,
  parseMixWeights,
  validateOperationMix,
} from '../mix/operation-mix';
import { type ProfileKind, profileKinds } from '../profile/load-profile';
import { type FakeTargetOptions, defaultFakeTargetOptions } from '../target/fake.target';
import { provisionLimits } from '../target/gateway/fleet-provisioner';
import { payerSetupLimits } from '../target/gateway/payer-setup';

/** One top-up at most: the platform's largest CNY operation. */
export const topUpMinorMax = 100_000_000n;

/** The highest arrival rate a run may ask for, per second. */
export const rateMax = 100_000;
export const targetNames = ['gateway', 'fake'] as const;
export type TargetName = (typeof targetNames)[number];

export interface LoadgenOptions {
  readonly profile: ProfileKind;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly steps: number;
  readonly target: TargetName;
  readonly mix: OperationMix;
  readonly seed: number;
  readonly inFlightMax: number;
  readonly requestCountMax: number;
  readonly drainTimeoutMs: number;
  /** Where the report goes; a fresh folder under reports/loadgen unless given. */
  readonly outputDirectory: string | undefined;
  readonly fake: FakeTargetOptions;
  readonly gateway: GatewayTargetFlags;
}

/** The gateway target's flags; where the cluster is comes from the environment unless given. */
export interface GatewayTargetFlags {
  /** Real traffic instead of shadow (stress) traffic. */
  readonly live: boolean;
  readonly clusterDir: string | undefined;
  readonly gatewayAddress: string | undefined;
  readonly cellAddresses: string | undefined;
  /** The cells the run uses; empty means every active cell. */
  readonly cells: readonly string[];
  readonly payers: number;
  readonly merchantsPerCell: number;
  readonly topUpMinor: bigint;
}

export const defaultGatewayTargetFlags: GatewayTargetFlags = {
  live: false,
  clusterDir: undefined,
  gatewayAddress: undefined,
  cellAddresses: undefined,
  cells: [],
  payers: 300,
  merchantsPerCell: 2,
  topUpMinor: 50_000_000n,
};

export const loadgenUsage = `usage: npm run loadgen -- [--target gateway|fake] [options]

  --target <name>            what receives the load: ${targetNames.join(', ')} (default gateway: the
                             local cluster of npm run cluster:up, through the SDK)
  --profile <kind>           ${profileKinds.join(' | ')} (default constant)
  --rate <per second>        top arrival rate: the constant rate, the last step, the plateau (default 100, max ${rateMax})
  --duration <seconds>       length of the run (default 30, max ${loadRunLimits.durationSecondsMax})
  --steps <n>                steps of the step profile (default 5)
  --mix <kind=weight,...>    weights of pay_same_cell, pay_cross_cell, refund, query
                             (default pay_same_cell=0.56,pay_cross_cell=0.24,refund=0.05,query=0.15)
  --hot-share <0..1>         share of payments that go to the one hot merchant (default 0.1)
  --seed <n>                 seed of the operation mix (default 1)
  --in-flight-max <n>        operations in flight at most; arrivals beyond are dropped (default 1000)
  --max-requests <n>         arrivals at most; the run stops when reached (default 5000000)
  --drain-timeout-ms <ms>    wait for operations in flight after the last arrival (default 10000)
  --out <folder>             where to write the report (default reports/loadgen/<start time>)
  --live                     gateway: send real traffic (default: shadow traffic, stress-marked)
  --cluster-dir <folder>     gateway: cluster:up's state folder (default $CELLPAY_CLUSTER_DIR or tmp/cluster)
  --gateway <host:port>      gateway: its address (default: the one in <cluster-dir>/credentials.json)
  --cell-addresses <list>    gateway: cell-1=host:port,... for opening merchant accounts
                             (default: $CELLPAY_CLUSTER_CELL_PORT_BASE + n, as cluster:up places them)
  --cells <list>             gateway: the cells to use, e.g. cell-1,cell-2 (default: every active cell)
  --payers <n>               gateway: payer wallets opened and funded before the run (default ${defaultGatewayTargetFlags.payers}, max ${payerSetupLimits.payersMax})
  --merchants-per-cell <n>   gateway: merchants registered per cell; the first of the first cell is hot (default ${defaultGatewayTargetFlags.merchantsPerCell})
  --top-up-minor <n>         gateway: each payer's funding in minor units (default ${defaultGatewayTargetFlags.topUpMinor})
  --fake-latency-ms <ms>     fake target: mean latency (default ${defaultFakeTargetOptions.latencyMs})
  --fake-error-rate <0..1>   fake target: share of failed operations (default ${defaultFakeTargetOptions.errorRate})
  --fake-error-status <name> fake target: status of a failed operation (default ${defaultFakeTargetOptions.errorStatus})
  --fake-settlement-lag-ms <ms>  fake target: mean settlement lag of cross-cell payments (default ${defaultFakeTargetOptions.settlementLagMs})
`;

/** A command line that cannot be run; the message names the flag. */
export class LoadgenUsageError extends Error {}

/** Parses and validates the command line; every number is checked against its bounds. */
export function parseLoadgenOptions(argv: readonly string[]): LoadgenOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: 'string' },
        profile: { type: 'string', default: 'constant' },
        rate: { type: 'string', default: '100' },
        duration: { type: 'string', default: '30' },
        steps: { type: 'string', default: '5' },
        mix: { type: 'string' },
        'hot-share': { type: 'string' },
        seed: { type: 'string', default: '1' },
        'in-flight-max': { type: 'string', default: '1000' },
        'max-requests': { type: 'string', default: '5000000' },
        'drain-timeout-ms': { type: 'string', default: '10000' },
        out: { type: 'string' },
        'fake-latency-ms': { type: 'string' },
        'fake-error-rate': { type: 'string' },
        'fake-error-status': { type: 'string' },
        'fake-settlement-lag-ms': { type: 'string' },
        live: { type: 'boolean', default: false },
        'cluster-dir': { type: 'string' },
        gateway: { type: 'string' },
        'cell-addresses': { type: 'string' },
        cells: { type: 'string' },
        payers: { type: 'string' },
        'merchants-per-cell': { type: 'string' },
        'top-up-minor': { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw new LoadgenUsageError(messageOf(error));
  }

  const target = targetNames.find((name) => name === (parsed.target ?? 'gateway'));
  if (target === undefined) {
    throw new LoadgenUsageError(
      `--target must be one of: ${targetNames.join(', ')} (got ${parsed.target ?? 'nothing'})`,
    );
  }
  const profile = profileKinds.find((kind) => kind === parsed.profile);
  if (profile === undefined) {
    throw new LoadgenUsageError(`--profile must be one of: ${profileKinds.join(', ')}`);
  }
  const mix: OperationMix = {
    weights:
      parsed.mix === undefined
        ? defaultOperationMix.weights
        : wrap('--mix', () => parseMixWeights(parsed.mix ?? '')),
    hotMerchantShare:
      parsed['hot-share'] === undefined
        ? defaultOperationMix.hotMerchantShare
        : numberIn('--hot-share', parsed['hot-share'], 0, 1),
  };
  wrap('--mix', () => validateOperationMix(mix));
  const errorStatus = parsed['fake-error-status'] ?? defaultFakeTargetOptions.errorStatus;
  if (!/^[A-Za-z0-9_]{1,64}$/.test(errorStatus)) {
    throw new LoadgenUsageError('--fake-error-status must be a status name (letters, digits, _)');
  }
  const seed = integerIn('--seed', parsed.seed, 0, 2 ** 32 - 1);

  return {
    target,
    profile,
    rate: numberIn('--rate', parsed.rate, Number.MIN_VALUE, rateMax),
    durationSeconds: numberIn(
      '--duration',
      parsed.duration,
      Number.MIN_VALUE,
      loadRunLimits.durationSecondsMax,
    ),
    steps: integerIn('--steps', parsed.steps, 1, 100),
    mix,
    seed,
    inFlightMax: integerIn(
      '--in-flight-max',
      parsed['in-flight-max'],
      1,
      loadRunLimits.inFlightMax,
    ),
    requestCountMax: integerIn(
      '--max-requests',
      parsed['max-requests'],
      1,
      loadRunLimits.requestCountMax,
    ),
    drainTimeoutMs: integerIn(
      '--drain-timeout-ms',
      parsed['drain-timeout-ms'],
      0,
      loadRunLimits.drainTimeoutMsMax,
    ),
    outputDirectory: parsed.out,
    fake: {
      ...defaultFakeTargetOptions,
      seed,
      errorStatus,
      latencyMs: optionalNumber(
        '--fake-latency-ms',
        parsed['fake-latency-ms'],
        0,
        60_000,
        defaultFakeTargetOptions.latencyMs,
      ),
      errorRate: optionalNumber(
        '--fake-error-rate',
        parsed['fake-error-rate'],
        0,
        1,
        defaultFakeTargetOptions.errorRate,
      ),
      settlementLagMs: optionalNumber(
        '--fake-settlement-lag-ms',
        parsed['fake-settlement-lag-ms'],
        0,
        600_000,
        defaultFakeTargetOptions.settlementLagMs,
      ),
    },
    gateway: {
      live: parsed.live === true,
      clusterDir: parsed['cluster-dir'],
      gatewayAddress: parsed.gateway,
      cellAddresses: parsed['cell-addresses'],
      cells: parseCells(parsed.cells),
      payers:
        parsed.payers === undefined
          ? defaultGatewayTargetFlags.payers
          : integerIn('--payers', parsed.payers, 1, payerSetupLimits.payersMax),
      merchantsPerCell:
        parsed['merchants-per-cell'] === undefined
          ? defaultGatewayTargetFlags.merchantsPerCell
          : integerIn(
              '--merchants-per-cell',
              parsed['merchants-per-cell'],
              1,
              provisionLimits.merchantsPerCellMax,
            ),
      topUpMinor: topUpOf(parsed['top-up-minor']),
    },
  };
}

function parseCells(text: string | undefined): string[] {
  if (text === undefined) return [];
  const cells = text.split(',').map((cell) => cell.trim());
  if (cells.some((cell) => !/^[a-z0-9-]{1,32}$/.test(cell))) {
    throw new LoadgenUsageError(
      `--cells must be a list of cell IDs such as cell-1,cell-2, got ${text}`,
    );
  }
  return cells;
}

/** A top-up is money: read as a whole number of minor units into a bigint, never a float. */
function topUpOf(text: string | undefined): bigint {
  if (text === undefined) return defaultGatewayTargetFlags.topUpMinor;
  if (!/^[1-9]\d{0,8}$/.test(text) || BigInt(text) > topUpMinorMax) {
    throw new LoadgenUsageError(
      `--top-up-minor must be a whole number of minor units within [1, ${topUpMinorMax}], got ${text}`,
    );
  }
  return BigInt(text);
}

function numberIn(flag: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (
    text === undefined ||
    text.trim() === '' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max
  ) {
    throw new LoadgenUsageError(
      `${flag} must be a number within ${min === Number.MIN_VALUE ? '(0' : `[${min}`}, ${max}], got ${text ?? 'nothing'}`,
    );
  }
  return value;
}

function integerIn(flag: string, text: string | undefined, min: number, max: number): number {
  const value = numberIn(flag, text, min, max);
  if (!Number.isInteger(value))
    throw new LoadgenUsageError(`${flag} must be a whole number, got ${text}`);
  return value;
}

function optionalNumber(
  flag: string,
  text: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  return text === undefined ? fallback : numberIn(flag, text, min, max);
}

function wrap<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new LoadgenUsageError(`${flag}: ${messageOf(error)}`);
  }
}

/** The message of anything thrown (Node's own errors may come from another realm under jest). */
function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String(error.message);
  }
  return String(error);
}
