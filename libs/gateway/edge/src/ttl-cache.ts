/**
 * A small bounded cache with a time to live, for lookups a gateway repeats on every request
 * (credentials). Bounded in entries: the oldest entry is evicted first. Misses are cached too
 * (for a shorter time) so a flood of unknown key IDs cannot turn into a flood of database reads.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V | undefined; expiresAtMs: number }>();

  constructor(
    private readonly options: {
      readonly entriesMax: number;
      readonly ttlMs: number;
      readonly missTtlMs: number;
      readonly nowMs: () => number;
    },
  ) {
    if (options.entriesMax < 1) throw new RangeError('entriesMax must be at least 1');
  }

  async get(key: string, load: (key: string) => Promise<V | undefined>): Promise<V | undefined> {
    const now = this.options.nowMs();
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.expiresAtMs > now) return cached.value;
    const value = await load(key);
    this.entries.delete(key);
    if (this.entries.size >= this.options.entriesMax) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    const ttlMs = value === undefined ? this.options.missTtlMs : this.options.ttlMs;
    this.entries.set(key, { value, expiresAtMs: now + ttlMs });
    return value;
  }

  invalidate(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
