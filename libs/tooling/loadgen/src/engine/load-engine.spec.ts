import { performance } from 'node:perf_hooks';
import { OperationPicker, defaultOperationMix, type LoadOperation } from '../mix/operation-mix';
import { createProfile } from '../profile/load-profile';
import { FakeTarget } from '../target/fake.target';
import type { LoadTarget, LoadTargetObserver, OperationOutcome } from '../target/load-target';
import { type LoadProgress, type LoadRunOptions, runLoad, targetErrorStatus } from './load-engine';
import { seededRandom } from './seeded-random';

/** A target that answers after a fixed delay and remembers the most it ever had in flight. */
class SlowTarget implements LoadTarget {
  readonly name = 'slow';
  inFlight = 0;
  inFlightPeak = 0;
  executed = 0;
  closed = false;

  constructor(
    private readonly latencyMs: number,
    private readonly behaviour: 'answer' | 'reject' | 'throw' | 'hang' = 'answer',
  ) {}

  open(_observer: LoadTargetObserver): Promise<void> {
    return Promise.resolve();
  }

  execute(_operation: LoadOperation): Promise<OperationOutcome> {
    this.executed += 1;
    if (this.behaviour === 'throw') throw new Error('synchronous failure');
    if (this.behaviour === 'hang') return new Promise(() => undefined);
    this.inFlight += 1;
    this.inFlightPeak = Math.max(this.inFlightPeak, this.inFlight);
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        this.inFlight -= 1;
        if (this.behaviour === 'reject') reject(new Error('lost connection'));
        else resolve({ status: 'ok' });
      }, this.latencyMs),
    );
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function options(target: LoadTarget, overrides: Partial<LoadRunOptions> = {}): LoadRunOptions {
  return {
    profile: createProfile({ kind: 'constant', rate: 200, durationSeconds: 1 }),
    picker: new OperationPicker(defaultOperationMix, seededRandom(1)),
    target,
    inFlightMax: 10_000,
    requestCountMax: 1_000_000,
    drainTimeoutMs: 5_000,
    seed: 1,
    ...overrides,
  };
}

describe('runLoad', () => {
  it('starts the clock after the target is open, so a slow setup is not counted as load', async () => {
    const target = new SlowTarget(1);
    const setupMs = 800;
    target.open = () => new Promise((resolve) => setTimeout(resolve, setupMs));

    const report = await runLoad(
      options(target, {
        profile: createProfile({ kind: 'constant', rate: 50, durationSeconds: 0.4 }),
      }),
    );

    // Had the setup counted, every arrival would have started about setupMs late, all at once.
    expect(report.summary.dispatchLagMsMax).toBeLessThan(setupMs / 2);
    expect(report.summary.ok).toBe(20);
    expect(report.summary.elapsedSeconds).toBeLessThan(setupMs / 1000);
  });

  it('starts arrivals on schedule whatever the latency (open loop): slowness shows as latency', async () => {
    const target = new SlowTarget(400);
    const startedAtMs = performance.now();

    const report = await runLoad(options(target));

    const elapsedMs = performance.now() - startedAtMs;
    // A closed loop with this latency would have sent a handful per connection; open loop sends
    // all 200 within the second, with up to ~80 of them in flight at once.
    expect(report.summary.started).toBe(200);
    expect(report.summary.ok).toBe(200);
    expect(target.inFlightPeak).toBeGreaterThan(50);
    expect(report.summary.latencyMs?.p50).toBeGreaterThanOrEqual(399);
    expect(elapsedMs).toBeLessThan(3_000);
    expect(target.closed).toBe(true);
    expect(report.summary.interrupted).toBe(false);
    // The generator itself kept up: it started every arrival well within a second of its time.
    expect(report.summary.dispatchLagMsMax).toBeGreaterThanOrEqual(0);
    expect(report.summary.dispatchLagMsMax).toBeLessThan(1_000);
  });

  it('drops arrivals over the in-flight limit instead of queueing them', async () => {
    const target = new SlowTarget(2_000);

    const report = await runLoad(options(target, { inFlightMax: 20 }));

    expect(target.inFlightPeak).toBe(20);
    expect(report.summary.started).toBe(20);
    expect(report.summary.dropped).toBe(180);
    expect(report.summary.scheduled).toBe(200);
    expect(report.seconds[0]?.dropped).toBe(180);
  });

  it('stops at the request count limit', async () => {
    const target = new SlowTarget(1);

    const report = await runLoad(
      options(target, {
        profile: createProfile({ kind: 'constant', rate: 1_000, durationSeconds: 5 }),
        requestCountMax: 50,
      }),
    );

    expect(target.executed).toBe(50);
    expect(report.summary.scheduled).toBe(50);
    expect(report.summary.elapsedSeconds).toBeLessThan(1);
  });

  it('gives up on operations that never finish at the drain timeout, and says how many', async () => {
    const target = new SlowTarget(0, 'hang');
    const startedAtMs = performance.now();

    const report = await runLoad(
      options(target, {
        profile: createProfile({ kind: 'constant', rate: 100, durationSeconds: 0.2 }),
        drainTimeoutMs: 300,
      }),
    );

    expect(report.summary.unfinished).toBe(20);
    expect(report.summary.ok).toBe(0);
    expect(performance.now() - startedAtMs).toBeLessThan(2_000);
  });

  it('records a target that throws or rejects as target_error', async () => {
    const throwing = await runLoad(
      options(new SlowTarget(0, 'throw'), {
        profile: createProfile({ kind: 'constant', rate: 50, durationSeconds: 0.2 }),
      }),
    );
    const rejecting = await runLoad(
      options(new SlowTarget(0, 'reject'), {
        profile: createProfile({ kind: 'constant', rate: 50, durationSeconds: 0.2 }),
      }),
    );

    expect(throwing.summary.errors).toEqual({ [targetErrorStatus]: 10 });
    expect(rejecting.summary.errors).toEqual({ [targetErrorStatus]: 10 });
    expect(rejecting.summary.latencyMs).toBeNull();
  });

  it('builds the per-second curve, with settlement lag reported by the target', async () => {
    const progress: LoadProgress[] = [];
    const report = await runLoad(
      options(
        new FakeTarget({
          latencyMs: 2,
          latencyJitterFraction: 0,
          errorRate: 0.1,
          errorStatus: 'UNAVAILABLE',
          settlementLagMs: 50,
          seed: 5,
        }),
        {
          profile: createProfile({ kind: 'constant', rate: 300, durationSeconds: 2 }),
          onProgress: (snapshot) => progress.push(snapshot),
        },
      ),
    );

    const { summary, seconds } = report;
    expect(summary.scheduled).toBe(600);
    expect(summary.ok + summary.errorCount).toBe(600);
    expect(summary.errors['UNAVAILABLE']).toBeGreaterThan(30);
    expect(seconds.slice(0, 2).map((second) => second.offered)).toEqual([300, 300]);
    expect(seconds.reduce((sum, second) => sum + second.throughput, 0)).toBe(summary.ok);
    expect(summary.settlementLagMs?.count).toBeGreaterThan(50);
    expect(summary.settlementLagMs?.p50).toBeGreaterThanOrEqual(49);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]?.started).toBeGreaterThan(0);
  });

  it('stops scheduling when aborted, drains what is in flight and says it was interrupted', async () => {
    const target = new SlowTarget(50);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);

    const report = await runLoad(
      options(target, {
        profile: createProfile({ kind: 'constant', rate: 100, durationSeconds: 30 }),
        signal: stop.signal,
      }),
    );

    expect(report.summary.interrupted).toBe(true);
    expect(report.summary.scheduled).toBeGreaterThan(10);
    expect(report.summary.scheduled).toBeLessThan(200);
    expect(report.summary.ok).toBe(report.summary.started);
    expect(report.summary.unfinished).toBe(0);
    expect(report.summary.elapsedSeconds).toBeLessThan(5);
  });

  it('refuses limits outside their bounds', async () => {
    const target = new SlowTarget(1);

    await expect(runLoad(options(target, { inFlightMax: 0 }))).rejects.toThrow(
      'in-flight limit must lie within',
    );
    await expect(runLoad(options(target, { requestCountMax: 1.5 }))).rejects.toThrow(
      'request count limit must lie within',
    );
    await expect(runLoad(options(target, { drainTimeoutMs: -1 }))).rejects.toThrow(
      'drain timeout must lie within',
    );
    expect(target.executed).toBe(0);
  });
});
