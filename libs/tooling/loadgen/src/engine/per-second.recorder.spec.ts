import { PerSecondRecorder, otherStatus, statusKindsMax } from './per-second.recorder';
import { seededRandom } from './seeded-random';

describe('PerSecondRecorder', () => {
  it('builds one point per second up to the last second with activity', () => {
    const recorder = new PerSecondRecorder(10, seededRandom(1));
    recorder.recordOffered(0.2);
    recorder.recordOffered(0.9);
    recorder.recordCompletion(0.95, 'ok', 4);
    recorder.recordCompletion(1.1, 'ok', 12);
    recorder.recordCompletion(1.2, 'UNAVAILABLE', 1);
    recorder.recordOffered(2.5);
    recorder.recordDropped(2.5);
    recorder.recordSettlementLag(2.7, 250);
    recorder.recordDispatchLag(0.2, 0.5);
    recorder.recordDispatchLag(0.9, 7);
    recorder.recordDispatchLag(2.5, 2);

    const curve = recorder.curve();

    expect(curve).toHaveLength(3);
    expect(curve[0]).toMatchObject({ second: 0, offered: 2, throughput: 1, errorCount: 0 });
    expect(curve[0]?.latencyMs).toEqual({ p50: 4, p95: 4, p99: 4, max: 4 });
    expect(curve[1]).toMatchObject({
      offered: 0,
      throughput: 1,
      errors: { UNAVAILABLE: 1 },
      errorCount: 1,
      settlementLagMs: null,
    });
    expect(curve[2]).toMatchObject({ offered: 1, dropped: 1, latencyMs: null });
    expect(curve[2]?.settlementLagMs).toEqual({ count: 1, p50: 250, p99: 250, max: 250 });
    expect(curve.map((second) => second.dispatchLagMsMax)).toEqual([7, 0, 2]);
    expect(recorder.dispatchLagMsMax).toBe(7);
    recorder.recordSettlementUnsettled();
    expect(recorder.totals).toEqual({
      offered: 3,
      dropped: 1,
      ok: 2,
      errors: 1,
      settlementUnsettled: 1,
    });
    expect(recorder.runLatencyMs()).toEqual({ p50: 4, p95: 12, p99: 12, max: 12 });
  });

  it('counts malformed and surplus status names as other, so the columns stay bounded', () => {
    const recorder = new PerSecondRecorder(2, seededRandom(1));
    for (let index = 0; index < statusKindsMax + 5; index += 1) {
      recorder.recordCompletion(0, `status_${index}`, 1);
    }
    recorder.recordCompletion(0, 'bad status, with spaces', 1);
    recorder.recordCompletion(0, '', 1);

    const errors = recorder.curve()[0]?.errors ?? {};
    expect(Object.keys(errors)).toHaveLength(statusKindsMax + 1);
    expect(errors[otherStatus]).toBe(7);
  });

  it('folds seconds past its end into the last bucket instead of growing', () => {
    const recorder = new PerSecondRecorder(3, seededRandom(1));
    recorder.recordCompletion(50, 'ok', 1);
    recorder.recordCompletion(-1, 'ok', 1);

    const curve = recorder.curve();
    expect(curve).toHaveLength(3);
    expect(curve[2]?.throughput).toBe(1);
    expect(curve[0]?.throughput).toBe(1);
  });
});
