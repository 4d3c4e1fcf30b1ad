import { slotOf } from './slot';

describe('slotOf', () => {
  it('is stable: fixed vectors every implementation must reproduce', () => {
    // SHA-256("user-1") begins c6c289e4 9c05b2..., so the slot is 0xc6c289e4 mod 100 = 52.
    expect(slotOf('user-1')).toBe(52);
    expect(0xc6c289e4 % 100).toBe(52);
    expect(slotOf('user-1', 100)).toBe(slotOf('user-1'));
  });

  it('spreads sequential user IDs evenly over the slots', () => {
    const slotCount = 100;
    const counts = new Array<number>(slotCount).fill(0);
    const users = 100_000;
    for (let i = 0; i < users; i++) {
      const slot = slotOf(`user-${i}`, slotCount);
      counts[slot] = (counts[slot] ?? 0) + 1;
    }
    const expected = users / slotCount;
    for (const count of counts) {
      expect(Math.abs(count - expected)).toBeLessThan(expected * 0.15);
    }
  });

  it('refuses an empty user ID and a slot count out of range', () => {
    expect(() => slotOf('')).toThrow(/userId must not be empty/);
    expect(() => slotOf('u', 0)).toThrow(RangeError);
    expect(() => slotOf('u', 1.5)).toThrow(RangeError);
  });
});
