import { SeededRandom } from '../world/seeded-random';

/** One scripted step of a run: a client operation or an injected fault, at a virtual time. */
export type ScriptedAction = { readonly index: number; readonly atMs: number } & (
  | { readonly kind: 'open'; readonly user: number }
  | { readonly kind: 'topUp'; readonly user: number; readonly amountMinor: bigint }
  | {
      readonly kind: 'transfer' | 'crossTransfer';
      readonly user: number;
      readonly toUser: number;
      readonly amountMinor: bigint;
    }
  | { readonly kind: 'pay' | 'authorize'; readonly user: number; readonly amountMinor: bigint }
  | { readonly kind: 'capture'; readonly pick: number; readonly amountMinor: bigint }
  | { readonly kind: 'void'; readonly pick: number }
  | { readonly kind: 'refund'; readonly pick: number; readonly amountMinor: bigint }
  | { readonly kind: 'crashCell'; readonly cell: number; readonly point: number }
  | { readonly kind: 'crashRelay' | 'crashConsumer'; readonly cell: number; readonly point: number }
  | { readonly kind: 'freezeSlot'; readonly pick: number }
  | { readonly kind: 'moveSlot'; readonly pick: number; readonly toCell: number }
  | { readonly kind: 'clockJump'; readonly deltaMs: number }
);

export type ScriptedActionKind = ScriptedAction['kind'];

/** How likely each fault is in this run; drawn from the seed, so seeds explore different worlds. */
export interface FaultProfile {
  readonly requestLossProbability: number;
  readonly replyLossProbability: number;
  readonly slowNetworkProbability: number;
  readonly publishLostProbability: number;
  readonly ackLostProbability: number;
  readonly duplicateProbability: number;
  readonly appendDelayMsMax: number;
}

export interface Scenario {
  readonly seed: number;
  readonly cellCount: number;
  readonly userCount: number;
  readonly faults: FaultProfile;
  readonly actions: readonly ScriptedAction[];
}

export const scenarioLimits = {
  cellCount: 3,
  userCount: 16,
  merchantCount: 2,
  /** Virtual milliseconds between two scripted actions, at most. */
  actionGapMsMax: 40,
  stepsMax: 100_000,
} as const;

const weights: readonly (readonly [ScriptedActionKind, number])[] = [
  ['open', 10],
  ['topUp', 14],
  ['transfer', 12],
  ['crossTransfer', 14],
  ['pay', 12],
  ['refund', 6],
  ['authorize', 6],
  ['capture', 4],
  ['void', 2],
  ['crashCell', 3],
  ['crashRelay', 3],
  ['crashConsumer', 3],
  ['freezeSlot', 2],
  ['moveSlot', 2],
  ['clockJump', 2],
];
const weightTotal = weights.reduce((sum, [, weight]) => sum + weight, 0);

function pickKind(random: SeededRandom): ScriptedActionKind {
  let roll = random.int(weightTotal);
  for (const [kind, weight] of weights) {
    if (roll < weight) return kind;
    roll -= weight;
  }
  return 'open';
}

/** The scripted history of a run, from its seed alone. */
export function generateScenario(seed: number, steps: number): Scenario {
  if (!Number.isInteger(steps) || steps < 1 || steps > scenarioLimits.stepsMax) {
    throw new RangeError(`steps must be an integer from 1 to ${scenarioLimits.stepsMax}`);
  }
  const random = new SeededRandom(seed);
  // A quarter of the seeds run a quiet network, so plain logic bugs are not drowned in noise.
  const intensity = random.int(4) === 0 ? 0 : random.between(1, 10) / 10;
  const faults: FaultProfile = {
    requestLossProbability: 0.05 * intensity,
    replyLossProbability: 0.1 * intensity,
    slowNetworkProbability: 0.1 * intensity,
    publishLostProbability: 0.1 * intensity,
    ackLostProbability: 0.15 * intensity,
    duplicateProbability: 0.15 * intensity,
    appendDelayMsMax: Math.round(200 * intensity),
  };
  const actions: ScriptedAction[] = [];
  let atMs = 0;
  const user = (): number => random.int(scenarioLimits.userCount);
  const amount = (): bigint => BigInt(random.between(1, 5_000));
  for (let index = 0; index < steps; index++) {
    atMs += random.between(1, scenarioLimits.actionGapMsMax);
    const kind = pickKind(random);
    const base = { index, atMs };
    switch (kind) {
      case 'open':
        actions.push({ ...base, kind, user: user() });
        break;
      case 'topUp':
        // Top-ups are larger than spending, so most payments and transfers find the funds.
        actions.push({ ...base, kind, user: user(), amountMinor: amount() * 4n });
        break;
      case 'pay':
      case 'authorize':
        actions.push({ ...base, kind, user: user(), amountMinor: amount() });
        break;
      case 'capture':
        actions.push({ ...base, kind, pick: random.int(1_000), amountMinor: amount() });
        break;
      case 'void':
        actions.push({ ...base, kind, pick: random.int(1_000) });
        break;
      case 'transfer':
      case 'crossTransfer':
        actions.push({ ...base, kind, user: user(), toUser: user(), amountMinor: amount() });
        break;
      case 'refund':
        actions.push({ ...base, kind, pick: random.int(1_000), amountMinor: amount() });
        break;
      case 'crashCell':
      case 'crashRelay':
      case 'crashConsumer':
        actions.push({
          ...base,
          kind,
          cell: random.int(scenarioLimits.cellCount),
          point: random.int(8),
        });
        break;
      case 'freezeSlot':
        actions.push({ ...base, kind, pick: random.int(1_000) });
        break;
      case 'moveSlot':
        actions.push({
          ...base,
          kind,
          pick: random.int(1_000),
          toCell: random.int(scenarioLimits.cellCount),
        });
        break;
      case 'clockJump':
        actions.push({ ...base, kind, deltaMs: random.between(-3_600_000, 86_400_000) });
        break;
    }
  }
  return {
    seed,
    cellCount: scenarioLimits.cellCount,
    userCount: scenarioLimits.userCount,
    faults,
    actions,
  };
}

/** The same scenario with only the actions whose indexes are kept (for shrinking and replay). */
export function keepActions(scenario: Scenario, kept: ReadonlySet<number>): Scenario {
  return { ...scenario, actions: scenario.actions.filter((action) => kept.has(action.index)) };
}

/** One line per action, for the printed history. */
export function describeAction(action: ScriptedAction): string {
  const { index, atMs, kind, ...rest } = action;
  const details = Object.entries(rest)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  return `#${index} @${atMs}ms ${kind} ${details}`.trimEnd();
}
