import type { RandomSource } from './seeded-random';

/**
 * A sample of observations with a fixed upper size, for exact percentiles by sorting. Below the
 * capacity it keeps every value, so the percentiles are exact; past it, it keeps a uniform random
 * subset (reservoir sampling, Algorithm R), so the percentiles stay unbiased estimates while the
 * memory stays bounded. Count and maximum are always exact.
 *
 * Why not an HDR histogram: one second holds at most a few thousand latencies at the rates this
 * machine reaches, which sort in well under a millisecond, and sorting gives exact figures with no
 * precision setting to explain or a dependency to keep.
 */
export class BoundedSample {
  private values: Float64Array;
  private size = 0;
  /** How many values were offered, kept or not. */
  count = 0;
  max = 0;

  constructor(
    private readonly capacity: number,
    private readonly random: RandomSource,
  ) {
    this.values = new Float64Array(Math.min(capacity, 64));
  }

  add(value: number): void {
    this.count += 1;
    if (value > this.max || this.count === 1) this.max = value;
    if (this.size < this.capacity) {
      if (this.size === this.values.length) this.grow();
      this.values[this.size] = value;
      this.size += 1;
      return;
    }
    const slot = Math.floor(this.random() * this.count);
    if (slot < this.capacity) this.values[slot] = value;
  }

  /** Nearest-rank percentiles (0 < p <= 1) of the kept values; empty when nothing was added. */
  percentiles(ranks: readonly number[]): number[] {
    if (this.size === 0) return [];
    const sorted = this.values.slice(0, this.size).sort();
    return ranks.map((rank) => {
      const index = Math.min(this.size - 1, Math.max(0, Math.ceil(rank * this.size) - 1));
      return sorted[index] ?? 0;
    });
  }

  private grow(): void {
    const larger = new Float64Array(Math.min(this.capacity, this.values.length * 2));
    larger.set(this.values);
    this.values = larger;
  }
}
