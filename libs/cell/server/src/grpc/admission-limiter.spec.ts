import {
  AdmissionLimiter,
  type AdmissionLimits,
  type AdmissionPermit,
  AdmissionRefusedError,
} from './admission-limiter';

const limits: AdmissionLimits = {
  inFlightMax: 2,
  queueLengthMax: 2,
  queueWaitMsMax: 250,
  deadlineRemainingMsMin: 50,
};

/** A promise's state without waiting for it: settled values are seen after one microtask turn. */
async function stateOf<T>(
  promise: Promise<T>,
): Promise<
  { kind: 'pending' } | { kind: 'resolved'; value: T } | { kind: 'rejected'; error: unknown }
> {
  let state:
    { kind: 'pending' } | { kind: 'resolved'; value: T } | { kind: 'rejected'; error: unknown } = {
    kind: 'pending',
  };
  promise.then(
    (value) => (state = { kind: 'resolved', value }),
    (error: unknown) => (state = { kind: 'rejected', error }),
  );
  await Promise.resolve();
  await Promise.resolve();
  return state;
}

async function refusalOf(promise: Promise<unknown>): Promise<string> {
  const state = await stateOf(promise);
  if (state.kind !== 'rejected' || !(state.error instanceof AdmissionRefusedError)) {
    throw new Error(`expected an admission refusal, got ${state.kind}`);
  }
  return state.error.refusalCause;
}

describe('AdmissionLimiter', () => {
  let nowMs = 1_000_000;
  const far = (): number => nowMs + 10_000;
  let changes: [number, number][];
  let refusals: string[];
  let limiter: AdmissionLimiter;

  beforeEach(() => {
    jest.useFakeTimers();
    nowMs = 1_000_000;
    changes = [];
    refusals = [];
    limiter = new AdmissionLimiter(
      limits,
      {
        changed: (inFlight, queueDepth) => changes.push([inFlight, queueDepth]),
        refused: (cause) => refusals.push(cause),
      },
      () => nowMs,
    );
  });
  afterEach(() => jest.useRealTimers());

  it('admits up to inFlightMax at once, then queues, then refuses at once when the queue is full', async () => {
    const first = limiter.tryAcquire(far());
    const second = await limiter.acquire(far());
    expect(first).toBeDefined();
    expect(limiter.tryAcquire(far())).toBeUndefined();
    const third = limiter.acquire(far());
    const fourth = limiter.acquire(far());
    expect(limiter.inFlightCount).toBe(2);
    expect(limiter.queueDepth).toBe(2);
    expect(await refusalOf(limiter.acquire(far()))).toBe('queue_full');
    expect((await stateOf(third)).kind).toBe('pending');
    expect(refusals).toEqual(['queue_full']);

    second.release();
    expect((await stateOf(third)).kind).toBe('resolved');
    expect((await stateOf(fourth)).kind).toBe('pending');
    expect(limiter.inFlightCount).toBe(2);
    expect(limiter.queueDepth).toBe(1);
    expect(changes.at(-1)).toEqual([2, 1]);
  });

  it('hands free turns to the waiters in arrival order', async () => {
    const running = [await limiter.acquire(far()), await limiter.acquire(far())];
    const order: number[] = [];
    const waiting = [1, 2].map((index) =>
      limiter.acquire(far()).then((permit) => {
        order.push(index);
        return permit;
      }),
    );
    running[1]?.release();
    running[0]?.release();
    const permits = await Promise.all(waiting);
    expect(order).toEqual([1, 2]);
    for (const permit of permits) permit.release();
    expect(limiter.inFlightCount).toBe(0);
    expect(limiter.queueDepth).toBe(0);
  });

  it('does not let a newcomer overtake the queue when a turn frees up', async () => {
    const first = await limiter.acquire(far());
    await limiter.acquire(far());
    const waiter = limiter.acquire(far());
    first.release();
    // The freed turn went to the waiter, so a newcomer finds no turn and must queue.
    expect(limiter.tryAcquire(far())).toBeUndefined();
    expect((await stateOf(waiter)).kind).toBe('resolved');
  });

  it('refuses a waiter after queueWaitMsMax, and its turn is not given later', async () => {
    const running = [await limiter.acquire(far()), await limiter.acquire(far())];
    const waiter = limiter.acquire(far());
    nowMs += 249;
    jest.advanceTimersByTime(249);
    expect((await stateOf(waiter)).kind).toBe('pending');
    nowMs += 1;
    jest.advanceTimersByTime(1);
    expect(await refusalOf(waiter)).toBe('queue_wait');
    expect(limiter.queueDepth).toBe(0);
    running[0]?.release();
    expect(limiter.inFlightCount).toBe(1);
    expect(refusals).toEqual(['queue_wait']);
  });

  it('refuses at once a call whose deadline is too near to finish', async () => {
    expect(await refusalOf(limiter.acquire(nowMs + 49))).toBe('deadline');
    expect(limiter.tryAcquire(nowMs + 49)).toBeUndefined();
    expect(limiter.inFlightCount).toBe(0);
    expect(await stateOf(limiter.acquire(nowMs + 50))).toMatchObject({ kind: 'resolved' });
  });

  it('refuses a waiter when its deadline comes too near before its turn', async () => {
    await limiter.acquire(far());
    await limiter.acquire(far());
    // 150 ms to the deadline, 50 ms kept as margin: the wait ends after 100 ms, not 250 ms.
    const waiter = limiter.acquire(nowMs + 150);
    nowMs += 100;
    jest.advanceTimersByTime(100);
    expect(await refusalOf(waiter)).toBe('deadline');
    expect(limiter.queueDepth).toBe(0);
  });

  it('drops a waiter out of time when its turn comes, and gives the turn to the next one', async () => {
    const first = await limiter.acquire(far());
    await limiter.acquire(far());
    const late = limiter.acquire(nowMs + 200);
    const next = limiter.acquire(far());
    // The clock jumps past the late call's deadline before its timer could run (a busy loop).
    nowMs += 190;
    first.release();
    expect(await refusalOf(late)).toBe('deadline');
    expect((await stateOf(next)).kind).toBe('resolved');
    expect(limiter.inFlightCount).toBe(2);
    expect(refusals).toEqual(['deadline']);
  });

  it('takes a waiter out of the queue when its caller gives up', async () => {
    await limiter.acquire(far());
    const second = await limiter.acquire(far());
    const controller = new AbortController();
    const waiter = limiter.acquire(far(), controller.signal);
    controller.abort();
    expect(await refusalOf(waiter)).toBe('cancelled');
    expect(limiter.queueDepth).toBe(0);
    second.release();
    expect(limiter.inFlightCount).toBe(1);
    expect(await refusalOf(limiter.acquire(far(), controller.signal))).toBe('cancelled');
  });

  it('counts a permit released twice only once', async () => {
    const permit: AdmissionPermit = await limiter.acquire(far());
    await limiter.acquire(far());
    permit.release();
    permit.release();
    expect(limiter.inFlightCount).toBe(1);
  });

  it('reports every change of the in-flight count and the queue depth', async () => {
    const permit = await limiter.acquire(far());
    permit.release();
    expect(changes).toEqual([
      [1, 0],
      [0, 0],
    ]);
  });

  it('refuses limits that are not non-negative integers, and an in-flight bound below one', () => {
    expect(() => new AdmissionLimiter({ ...limits, queueLengthMax: -1 })).toThrow(/queueLengthMax/);
    expect(() => new AdmissionLimiter({ ...limits, queueWaitMsMax: 1.5 })).toThrow(
      /queueWaitMsMax/,
    );
    expect(() => new AdmissionLimiter({ ...limits, inFlightMax: 0 })).toThrow(/inFlightMax/);
  });
});
