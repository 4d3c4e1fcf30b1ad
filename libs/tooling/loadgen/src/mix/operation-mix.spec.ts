import { seededRandom } from '../engine/seeded-random';
import {
  OperationPicker,
  defaultOperationMix,
  parseMixWeights,
  validateOperationMix,
} from './operation-mix';

describe('OperationPicker', () => {
  it('draws the kinds in the proportions of the mix, and the hot merchant only for payments', () => {
    const picker = new OperationPicker(
      {
        weights: { pay_same_cell: 5, pay_cross_cell: 3, refund: 0, query: 2 },
        hotMerchantShare: 0.5,
      },
      seededRandom(42),
    );
    const counts = { pay_same_cell: 0, pay_cross_cell: 0, refund: 0, query: 0 };
    let hotPayments = 0;
    let hotOthers = 0;
    const draws = 100_000;
    for (let sequence = 0; sequence < draws; sequence += 1) {
      const operation = picker.pick(sequence);
      counts[operation.kind] += 1;
      const isPayment = operation.kind.startsWith('pay_');
      if (operation.hotMerchant && isPayment) hotPayments += 1;
      if (operation.hotMerchant && !isPayment) hotOthers += 1;
    }

    expect(counts.pay_same_cell / draws).toBeCloseTo(0.5, 2);
    expect(counts.pay_cross_cell / draws).toBeCloseTo(0.3, 2);
    expect(counts.query / draws).toBeCloseTo(0.2, 2);
    expect(counts.refund).toBe(0);
    expect(hotPayments / (counts.pay_same_cell + counts.pay_cross_cell)).toBeCloseTo(0.5, 2);
    expect(hotOthers).toBe(0);
  });

  it('repeats the same sequence for the same seed', () => {
    const draw = (seed: number) => {
      const picker = new OperationPicker(defaultOperationMix, seededRandom(seed));
      return Array.from({ length: 50 }, (_, sequence) => picker.pick(sequence));
    };

    expect(draw(9)).toEqual(draw(9));
    expect(draw(9)).not.toEqual(draw(10));
  });

  it('keeps 30 % of payments cross-cell in the default mix', () => {
    const { pay_same_cell, pay_cross_cell } = defaultOperationMix.weights;

    expect(pay_cross_cell / (pay_same_cell + pay_cross_cell)).toBeCloseTo(0.3, 9);
  });
});

describe('parseMixWeights and validateOperationMix', () => {
  it('reads kind=weight pairs and leaves unnamed kinds at 0', () => {
    expect(parseMixWeights('pay_same_cell=0.7, query=0.3')).toEqual({
      pay_same_cell: 0.7,
      pay_cross_cell: 0,
      refund: 0,
      query: 0.3,
    });
  });

  it('refuses unknown kinds, missing weights, negative weights and impossible shares', () => {
    expect(() => parseMixWeights('transfer=1')).toThrow('mix entry "transfer=1"');
    expect(() => parseMixWeights('query=')).toThrow('mix entry "query="');
    expect(() =>
      validateOperationMix({
        weights: { ...defaultOperationMix.weights, refund: -1 },
        hotMerchantShare: 0,
      }),
    ).toThrow('mix weight of refund must be a non-negative number');
    expect(() =>
      validateOperationMix({
        weights: { pay_same_cell: 0, pay_cross_cell: 0, refund: 0, query: 0 },
        hotMerchantShare: 0,
      }),
    ).toThrow('add up to more than 0');
    expect(() =>
      validateOperationMix({ weights: defaultOperationMix.weights, hotMerchantShare: 1.5 }),
    ).toThrow('hot merchant share must lie within 0..1');
    expect(() =>
      validateOperationMix({ ...defaultOperationMix, weights: parseMixWeights('query=abc') }),
    ).toThrow('mix weight of query');
  });
});
