import { createProfile, LoadProfile, peakShape } from './load-profile';

describe('createProfile', () => {
  it('schedules a constant rate evenly, starting at once', () => {
    const profile = createProfile({ kind: 'constant', rate: 100, durationSeconds: 3 });

    expect(profile.arrivalCount).toBe(300);
    expect(profile.arrivalsDueBy(0)).toBe(1);
    expect(profile.arrivalsDueBy(0.5)).toBe(51);
    expect(profile.arrivalsDueBy(3)).toBe(300);
    expect(profile.scheduledSecondsOf(150)).toBeCloseTo(1.5, 9);
    expect(profile.rateAt(2.9)).toBe(100);
    expect(profile.rateAt(3)).toBe(0);
  });

  it('climbs in equal steps up to the rate', () => {
    const profile = createProfile({ kind: 'step', rate: 400, durationSeconds: 8, steps: 4 });

    expect([0.5, 2.5, 4.5, 6.5].map((seconds) => profile.rateAt(seconds))).toEqual([
      100, 200, 300, 400,
    ]);
    expect(profile.arrivalCount).toBe(2 * (100 + 200 + 300 + 400));
  });

  it('plays the peak day: quiet, a cliff at T0, a plateau, then a decay', () => {
    const profile = createProfile({ kind: 'peak', rate: 1000, durationSeconds: 100 });
    const cliffSeconds = 100 * peakShape.quietDurationFraction;
    const decayStartSeconds = cliffSeconds + 100 * peakShape.plateauDurationFraction;

    expect(profile.rateAt(cliffSeconds - 0.001)).toBe(1000 * peakShape.quietRateFraction);
    expect(profile.rateAt(cliffSeconds)).toBe(1000);
    expect(profile.rateAt(decayStartSeconds - 0.001)).toBe(1000);
    expect(profile.rateAt(99.999)).toBeCloseTo(1000 * peakShape.decayEndRateFraction, 0);
    expect(profile.rateAt(80)).toBeLessThan(profile.rateAt(70));
    // 25 s at 100/s, 35 s at 1000/s, 40 s decaying linearly from 1000/s to 300/s.
    expect(profile.arrivalCount).toBe(2_500 + 35_000 + 26_000);
  });

  it('places every arrival at the time its cumulative count is reached (exact inverse)', () => {
    const profile = createProfile({ kind: 'peak', rate: 700, durationSeconds: 20 });

    for (const arrival of [0, 1, 349, 350, 351, 2_000, 5_000, profile.arrivalCount - 1]) {
      const seconds = profile.scheduledSecondsOf(arrival);
      expect(profile.arrivalsBy(seconds)).toBeCloseTo(arrival, 6);
      expect(profile.arrivalsDueBy(seconds + 1e-9)).toBeGreaterThanOrEqual(arrival + 1);
    }
    const times = Array.from({ length: profile.arrivalCount }, (_, arrival) =>
      profile.scheduledSecondsOf(arrival),
    );
    times.forEach((time, index) => {
      if (index > 0) expect(time).toBeGreaterThanOrEqual(times[index - 1] ?? Infinity);
    });
    expect(times[times.length - 1]).toBeLessThan(20);
  });

  it('refuses rates, durations and step counts that cannot make a schedule', () => {
    expect(() => createProfile({ kind: 'constant', rate: 0, durationSeconds: 1 })).toThrow(
      'the rate must be above 0',
    );
    expect(() => createProfile({ kind: 'constant', rate: 1, durationSeconds: -1 })).toThrow(
      'the duration must be above 0',
    );
    expect(() => createProfile({ kind: 'step', rate: 1, durationSeconds: 1, steps: 0 })).toThrow(
      'steps must be a positive integer',
    );
    expect(() => new LoadProfile('constant', [])).toThrow('at least one segment');
    expect(
      () =>
        new LoadProfile('constant', [
          { label: 'bad', durationSeconds: 1, startRate: -1, endRate: 1 },
        ]),
    ).toThrow('negative rate');
  });
});
