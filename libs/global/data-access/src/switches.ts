/**
 * Degradation switches: named, typed, documented, and followed by every process within a second.
 * Each one degrades a non-critical path on purpose; none of them may touch the money path itself
 * (journals are never deferred, balances never approximated).
 */
export interface SwitchValues {
  /** Accounting stops posting journals to the general ledger and catches up when switched back. */
  readonly glPostingDeferred: boolean;
  /** The gateway refuses all stress-test (shadow) traffic. */
  readonly stressTrafficRejected: boolean;
  /** Relays stop publishing cross-cell events; payments still succeed and queue in the outbox. */
  readonly crossCellPaymentsPaused: boolean;
  /** Requests per second allowed per merchant, on top of each credential's own limit. */
  readonly merchantRateCaps: Readonly<Record<string, number>>;
}

export const switchDefaults: SwitchValues = {
  glPostingDeferred: false,
  stressTrafficRejected: false,
  crossCellPaymentsPaused: false,
  merchantRateCaps: {},
};

export interface SwitchDefinition<K extends keyof SwitchValues = keyof SwitchValues> {
  /** The name operators type (`cellctl switch set <name> <value>`). */
  readonly name: string;
  readonly key: K;
  readonly description: string;
  readonly type: string;
  parse(value: unknown): SwitchValues[K];
}

export class SwitchError extends Error {
  constructor(message: string) {
    super(`switch: ${message}`);
    this.name = 'SwitchError';
  }
}

function booleanSwitch<K extends keyof SwitchValues>(
  name: string,
  key: K,
  description: string,
): SwitchDefinition<K> {
  return {
    name,
    key,
    description,
    type: 'boolean',
    parse: (value) => {
      if (typeof value !== 'boolean') throw new SwitchError(`${name} takes true or false`);
      return value as SwitchValues[K];
    },
  };
}

const merchantIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;
const merchantCapsMax = 1_000;
const capPerSecondMax = 1_000_000;

export const switchDefinitions: readonly SwitchDefinition[] = [
  booleanSwitch(
    'gl_posting_deferred',
    'glPostingDeferred',
    'Defer general-ledger posting (accounting catches up later); journals are never deferred.',
  ),
  booleanSwitch(
    'stress_traffic_rejected',
    'stressTrafficRejected',
    'Reject all stress-test (shadow) traffic at the gateway.',
  ),
  booleanSwitch(
    'cross_cell_payments_paused',
    'crossCellPaymentsPaused',
    'Pause publishing cross-cell settlement events; payments succeed and wait in the outbox.',
  ),
  {
    name: 'merchant_rate_caps',
    key: 'merchantRateCaps',
    description: 'Per-merchant request caps per second, e.g. {"merchant-1": 500}; {} for none.',
    type: 'object of merchant ID to positive integer',
    parse: (value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new SwitchError(
          'merchant_rate_caps takes an object of merchant ID to requests per second',
        );
      }
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > merchantCapsMax)
        throw new SwitchError(`at most ${merchantCapsMax} merchant caps`);
      for (const [merchantId, cap] of entries) {
        if (!merchantIdPattern.test(merchantId))
          throw new SwitchError(`merchant ID ${merchantId} is malformed`);
        if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 1 || cap > capPerSecondMax) {
          throw new SwitchError(
            `the cap of ${merchantId} must be an integer from 1 to ${capPerSecondMax}`,
          );
        }
      }
      return Object.fromEntries(entries) as Record<string, number>;
    },
  },
];

export function switchDefinition(name: string): SwitchDefinition {
  const definition = switchDefinitions.find((candidate) => candidate.name === name);
  if (definition === undefined) {
    throw new SwitchError(
      `unknown switch ${name}; known: ${switchDefinitions.map((d) => d.name).join(', ')}`,
    );
  }
  return definition;
}

/** Builds the full set of values from stored rows, validating each; unknown rows are refused. */
export function switchValuesFrom(rows: ReadonlyMap<string, unknown>): SwitchValues {
  const values: Record<string, unknown> = { ...switchDefaults };
  for (const [name, value] of rows) {
    const definition = switchDefinition(name);
    values[definition.key] = definition.parse(value);
  }
  return values as unknown as SwitchValues;
}
