import { pollUntil } from '@cellpay/testing';
import type { LoadOperation } from '../mix/operation-mix';
import { FakeTarget, type FakeTargetOptions } from './fake.target';

const settings: FakeTargetOptions = {
  latencyMs: 1,
  latencyJitterFraction: 0,
  errorRate: 0,
  errorStatus: 'UNAVAILABLE',
  settlementLagMs: 20,
  seed: 3,
};

function operation(kind: LoadOperation['kind'], sequence = 0): LoadOperation {
  return { sequence, kind, hotMerchant: false };
}

describe('FakeTarget', () => {
  it('fails at the configured rate with the configured status', async () => {
    const target = new FakeTarget({ ...settings, latencyMs: 0, errorRate: 0.25 });
    await target.open({ settlementLag: () => undefined, settlementUnsettled: () => undefined });

    const outcomes = await Promise.all(
      Array.from({ length: 2_000 }, (_, sequence) => target.execute(operation('query', sequence))),
    );
    await target.close();

    const failed = outcomes.filter((outcome) => outcome.status === 'UNAVAILABLE').length;
    expect(failed / outcomes.length).toBeCloseTo(0.25, 1);
    expect(outcomes.filter((outcome) => outcome.status === 'ok')).toHaveLength(2_000 - failed);
  });

  it('reports a settlement lag for each successful cross-cell payment only', async () => {
    const lags: number[] = [];
    const target = new FakeTarget(settings);
    await target.open({
      settlementLag: (seconds) => lags.push(seconds),
      settlementUnsettled: () => undefined,
    });

    await target.execute(operation('pay_cross_cell'));
    await target.execute(operation('pay_same_cell'));
    await target.execute(operation('refund'));

    await pollUntil(() => lags.length === 1, { description: 'one settlement reported' });
    expect(lags[0]).toBeCloseTo(0.02, 6);
    await target.close();
  });

  it('waits in settled() until every pending settlement was reported', async () => {
    const lags: number[] = [];
    const target = new FakeTarget({ ...settings, settlementLagMs: 40 });
    await target.open({
      settlementLag: (seconds) => lags.push(seconds),
      settlementUnsettled: () => undefined,
    });

    await Promise.all(
      [0, 1, 2].map((sequence) => target.execute(operation('pay_cross_cell', sequence))),
    );
    expect(lags).toEqual([]);
    await target.settled();

    expect(lags).toHaveLength(3);
    expect(target.settlementTailWaitMsMax).toBeGreaterThanOrEqual(40);
    await target.close();
  });

  it('reports nothing after it is closed', async () => {
    const lags: number[] = [];
    const target = new FakeTarget({ ...settings, settlementLagMs: 30 });
    await target.open({
      settlementLag: (seconds) => lags.push(seconds),
      settlementUnsettled: () => undefined,
    });

    await target.execute(operation('pay_cross_cell'));
    await target.close();
    const probe = new FakeTarget({ ...settings, settlementLagMs: 60 });
    const probeLags: number[] = [];
    await probe.open({
      settlementLag: (seconds) => probeLags.push(seconds),
      settlementUnsettled: () => undefined,
    });
    await probe.execute(operation('pay_cross_cell'));
    // The probe's settlement comes after the closed target's would have; by then nothing came.
    await pollUntil(() => probeLags.length === 1, { description: 'the probe settlement' });
    await probe.close();

    expect(lags).toEqual([]);
  });

  it('refuses settings outside their ranges', () => {
    expect(() => new FakeTarget({ ...settings, latencyMs: -1 })).toThrow(
      'latency must be 0 or more',
    );
    expect(() => new FakeTarget({ ...settings, latencyJitterFraction: 2 })).toThrow('jitter');
    expect(() => new FakeTarget({ ...settings, errorRate: 1.5 })).toThrow('error rate');
    expect(() => new FakeTarget({ ...settings, settlementLagMs: Number.NaN })).toThrow(
      'settlement lag must be 0 or more',
    );
  });
});
