import { SeededRandom } from './seeded-random';
import { VirtualScheduler } from './virtual-scheduler';

describe('SeededRandom', () => {
  it('repeats its sequence for a seed and stays inside the bounds asked for', () => {
    const left = new SeededRandom(42);
    const right = new SeededRandom(42);
    const draws = Array.from({ length: 100 }, () => left.between(3, 7));
    expect(Array.from({ length: 100 }, () => right.between(3, 7))).toEqual(draws);
    expect(Math.min(...draws)).toBe(3);
    expect(Math.max(...draws)).toBe(7);
    expect(new SeededRandom(43).nextUint32()).not.toBe(new SeededRandom(42).nextUint32());
    expect(() => left.int(0)).toThrow(RangeError);
    expect(() => left.pick([])).toThrow(RangeError);
  });
});

describe('VirtualScheduler', () => {
  it('runs events in time order, ties in insertion order, and never past the bound', async () => {
    const scheduler = new VirtualScheduler();
    const seen: string[] = [];
    scheduler.at(30, 'c', () => void seen.push('c'));
    scheduler.at(10, 'a', () => void seen.push('a'));
    scheduler.at(10, 'b', () => void seen.push('b'));
    scheduler.at(99, 'late', () => void seen.push('late'));
    for (let event = scheduler.next(50); event !== undefined; event = scheduler.next(50)) {
      await event.action();
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(scheduler.nowMs).toBe(30);
    expect(scheduler.pending).toBe(1);
  });
});
