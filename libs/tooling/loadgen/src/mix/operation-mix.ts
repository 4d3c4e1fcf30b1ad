import type { RandomSource } from '../engine/seeded-random';

export const operationKinds = ['pay_same_cell', 'pay_cross_cell', 'refund', 'query'] as const;
export type OperationKind = (typeof operationKinds)[number];

/** What the generator asks the target to do for one arrival. */
export interface LoadOperation {
  /** 0-based arrival number; with the seed it identifies the request (idempotency keys). */
  readonly sequence: number;
  readonly kind: OperationKind;
  /** Whether a payment goes to the hot merchant (always false for refunds and queries). */
  readonly hotMerchant: boolean;
}

/** Relative weights of the operation kinds, and the hot merchant's share of payments. */
export interface OperationMix {
  readonly weights: Readonly<Record<OperationKind, number>>;
  /** Fraction (0..1) of payments (same-cell and cross-cell) that go to the one hot merchant. */
  readonly hotMerchantShare: number;
}

/**
 * The default mix: 80 % payments, of which 30 % cross cells (the benchmark's target mix), 5 %
 * refunds, 15 % queries, and one merchant receiving 10 % of the payments.
 */
export const defaultOperationMix: OperationMix = {
  weights: { pay_same_cell: 0.56, pay_cross_cell: 0.24, refund: 0.05, query: 0.15 },
  hotMerchantShare: 0.1,
};

/** Validates a mix: weights finite and non-negative with a positive sum, share within 0..1. */
export function validateOperationMix(mix: OperationMix): OperationMix {
  let total = 0;
  for (const kind of operationKinds) {
    const weight = mix.weights[kind];
    if (!Number.isFinite(weight) || weight < 0) {
      throw new Error(`mix weight of ${kind} must be a non-negative number, got ${weight}`);
    }
    total += weight;
  }
  if (total <= 0) throw new Error('the mix weights must add up to more than 0');
  if (!(mix.hotMerchantShare >= 0 && mix.hotMerchantShare <= 1)) {
    throw new Error(`the hot merchant share must lie within 0..1, got ${mix.hotMerchantShare}`);
  }
  return mix;
}

/**
 * Parses `pay_same_cell=0.6,pay_cross_cell=0.3,query=0.1`. Kinds not named get weight 0, so the
 * string says the whole mix.
 */
export function parseMixWeights(text: string): Record<OperationKind, number> {
  const weights: Record<OperationKind, number> = {
    pay_same_cell: 0,
    pay_cross_cell: 0,
    refund: 0,
    query: 0,
  };
  for (const part of text.split(',')) {
    const [name, value, extra] = part.split('=').map((piece) => piece.trim());
    const kind = operationKinds.find((candidate) => candidate === name);
    if (kind === undefined || value === undefined || value === '' || extra !== undefined) {
      throw new Error(`mix entry "${part}" is not <${operationKinds.join('|')}>=<weight>`);
    }
    weights[kind] = Number(value);
  }
  return weights;
}

/** Draws operations from a mix with a seeded random source. */
export class OperationPicker {
  private readonly cumulative: number[];

  constructor(
    private readonly mix: OperationMix,
    private readonly random: RandomSource,
  ) {
    validateOperationMix(mix);
    const total = operationKinds.reduce((sum, kind) => sum + mix.weights[kind], 0);
    let running = 0;
    this.cumulative = operationKinds.map((kind) => {
      running += mix.weights[kind] / total;
      return running;
    });
  }

  pick(sequence: number): LoadOperation {
    const draw = this.random();
    let index = this.cumulative.findIndex((bound) => draw < bound);
    // Rounding can leave the last bound a hair under 1; the draw then belongs to the last kind
    // with a weight.
    if (index === -1) index = this.lastWeightedIndex();
    const kind = operationKinds[index] ?? 'query';
    const isPayment = kind === 'pay_same_cell' || kind === 'pay_cross_cell';
    const hotMerchant = isPayment && this.random() < this.mix.hotMerchantShare;
    return { sequence, kind, hotMerchant };
  }

  private lastWeightedIndex(): number {
    for (let index = operationKinds.length - 1; index >= 0; index -= 1) {
      const kind = operationKinds[index];
      if (kind !== undefined && this.mix.weights[kind] > 0) return index;
    }
    return 0;
  }
}
