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

/** The highest arrival rate a run may ask for, per second. */
export const rateMax = 100_000;
export const targetNames = ['fake'] as const;
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
}

export const loadgenUsage = `usage: npm run loadgen -- --target fake [options]

  --target <name>            what receives the load: ${targetNames.join(', ')} (required)
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
      },
    }).values;
  } catch (error) {
    throw new LoadgenUsageError(messageOf(error));
  }

  const target = targetNames.find((name) => name === parsed.target);
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
  };
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
