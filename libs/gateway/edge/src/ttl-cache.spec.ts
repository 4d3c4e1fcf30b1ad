import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  let now = 0;
  const cache = () =>
    new TtlCache<string>({ entriesMax: 2, ttlMs: 100, missTtlMs: 10, nowMs: () => now });

  beforeEach(() => {
    now = 0;
  });

  it('serves from memory until the entry expires', async () => {
    const c = cache();
    const load = jest.fn(async (key: string) => `v-${key}`);
    expect(await c.get('a', load)).toBe('v-a');
    now = 99;
    expect(await c.get('a', load)).toBe('v-a');
    expect(load).toHaveBeenCalledTimes(1);
    now = 100;
    await c.get('a', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('caches misses for the shorter time', async () => {
    const c = cache();
    const load = jest.fn(async () => undefined);
    await c.get('x', load);
    now = 9;
    await c.get('x', load);
    expect(load).toHaveBeenCalledTimes(1);
    now = 10;
    await c.get('x', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('never holds more than entriesMax entries, evicting the oldest', async () => {
    const c = cache();
    const load = jest.fn(async (key: string) => key);
    await c.get('a', load);
    await c.get('b', load);
    await c.get('c', load);
    expect(c.size).toBe(2);
    await c.get('b', load);
    expect(load).toHaveBeenCalledTimes(3);
    await c.get('a', load);
    expect(load).toHaveBeenCalledTimes(4);
  });
});
