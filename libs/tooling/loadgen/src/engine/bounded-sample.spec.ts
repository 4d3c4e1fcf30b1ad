import { BoundedSample } from './bounded-sample';
import { seededRandom } from './seeded-random';

describe('BoundedSample', () => {
  it('gives exact nearest-rank percentiles below its capacity', () => {
    const sample = new BoundedSample(1_000, seededRandom(1));
    for (let value = 100; value >= 1; value -= 1) sample.add(value);

    expect(sample.percentiles([0.5, 0.95, 0.99, 1])).toEqual([50, 95, 99, 100]);
    expect(sample.count).toBe(100);
    expect(sample.max).toBe(100);
  });

  it('stays within its capacity past it, with an exact count and maximum and fair percentiles', () => {
    const sample = new BoundedSample(2_000, seededRandom(3));
    for (let value = 1; value <= 100_000; value += 1) sample.add(value);

    const [median = 0, p99 = 0] = sample.percentiles([0.5, 0.99]);
    expect(sample.count).toBe(100_000);
    expect(sample.max).toBe(100_000);
    expect(median).toBeGreaterThan(45_000);
    expect(median).toBeLessThan(55_000);
    expect(p99).toBeGreaterThan(97_000);
  });

  it('has no percentiles when empty, and a maximum that can be negative or zero', () => {
    const sample = new BoundedSample(10, seededRandom(1));
    expect(sample.percentiles([0.5])).toEqual([]);
    sample.add(-5);
    expect(sample.max).toBe(-5);
    sample.add(0);
    expect(sample.max).toBe(0);
  });
});
