import { status } from '@grpc/grpc-js';

import { runLoad } from '../../../engine/load-engine';
import { seededRandom } from '../../../engine/seeded-random';
import { type OperationKind, OperationPicker } from '../../../mix/operation-mix';
import { createProfile } from '../../../profile/load-profile';
import type { LoadTargetObserver } from '../../load-target';
import { GatewayTarget, type GatewayTargetOptions } from '../gateway.target';
import type { FleetMerchant, LoadFleet } from '../load-fleet';
import {
  defaultSettlementSampling,
  type FollowerClock,
  type SettlementSampling,
} from '../settlement-follower';
import {
  cellOfAccount,
  FakeGateway,
  type FakeSettlement,
  fakeCellOfUser,
  refusal,
} from './fake-gateway-client';

const credential = (keyId: string) => ({ keyId, secret: Buffer.alloc(32, 1) });
const merchant = (merchantId: string, cellId: string): FleetMerchant => ({
  merchantId,
  cellId,
  hot: false,
  credential: credential(`key-${merchantId}`),
});
const fleet: LoadFleet = {
  gatewayAddress: '127.0.0.1:1',
  currency: 'CNY',
  walletBackend: credential('key-wallet'),
  merchants: [merchant('m1', 'cell-1'), merchant('m2', 'cell-2'), merchant('m3', 'cell-3')],
};
const cellOfKey = (keyId: string): string | undefined =>
  fleet.merchants.find((candidate) => candidate.credential.keyId === keyId)?.cellId;

/** Time moves only when someone waits: a follower's polls land at exact, known instants. */
class ManualClock implements FollowerClock {
  nowMs = 0;
  now(): number {
    return this.nowMs;
  }
  sleep(ms: number): Promise<void> {
    this.nowMs += ms;
    return Promise.resolve();
  }
}

/** Cross-cell payments settle after `lagMs` of the clock; same-cell ones are local. */
function settlingAfter(now: () => number, lagMs: number): FakeSettlement {
  return {
    now,
    lagMsOf: (keyId, request) =>
      cellOfKey(keyId) === cellOfAccount(request.payerAccountId) ? undefined : lagMs,
  };
}

function recordingObserver(): LoadTargetObserver & { lags: number[]; unsettled: number } {
  const observer = {
    lags: [] as number[],
    unsettled: 0,
    settlementLag: (seconds: number) => observer.lags.push(seconds),
    settlementUnsettled: () => {
      observer.unsettled += 1;
    },
  };
  return observer;
}

function targetOn(gateway: FakeGateway, overrides: Partial<GatewayTargetOptions> = {}) {
  return new GatewayTarget({
    fleet,
    clientFactory: gateway.factory,
    cellOfUser: fakeCellOfUser,
    cells: ['cell-1', 'cell-2', 'cell-3'],
    payers: 9,
    topUpMinor: 1_000_000n,
    amountMinorMin: 100n,
    amountStepMinor: 100n,
    stress: true,
    crossCell: true,
    runTag: 'lag',
    seed: 5,
    log: () => undefined,
    ...overrides,
  });
}

const everyPayment: SettlementSampling = { ...defaultSettlementSampling, everyNth: 1 };
const pay = (sequence: number, kind: OperationKind) => ({ sequence, kind, hotMerchant: false });

describe('settlement lag of the gateway target', () => {
  it('reports acknowledgement -> settled of a cross-cell payment, polled as its merchant with the stress mark', async () => {
    const clock = new ManualClock();
    // Polls go 50, 100, 200, 200 ... ms apart: at 50, 150, 350, 550 ms after the acknowledgement.
    const gateway = new FakeGateway(
      undefined,
      settlingAfter(() => clock.now(), 350),
    );
    const target = targetOn(gateway, { clock, settlementSampling: everyPayment });
    const observer = recordingObserver();
    await target.open(observer);

    expect(await target.execute(pay(0, 'pay_cross_cell'))).toEqual({ status: 'ok' });
    await target.settled();

    expect(observer.lags).toEqual([0.35]);
    expect(observer.unsettled).toBe(0);
    const [paid] = gateway.pays;
    expect(gateway.queries.map((query) => query.keyId)).toEqual(
      Array.from({ length: 3 }, () => paid?.keyId),
    );
    expect(paid?.stress).toBe(true);
    await target.close();
  });

  it('overstates a lag between two polls by less than the longest poll delay', async () => {
    const clock = new ManualClock();
    const gateway = new FakeGateway(
      undefined,
      settlingAfter(() => clock.now(), 360),
    );
    const target = targetOn(gateway, { clock, settlementSampling: everyPayment });
    const observer = recordingObserver();
    await target.open(observer);

    await target.execute(pay(0, 'pay_cross_cell'));
    await target.settled();

    const [lagSeconds = 0] = observer.lags;
    expect(lagSeconds * 1000).toBeGreaterThanOrEqual(360);
    expect(lagSeconds * 1000).toBeLessThan(360 + everyPayment.pollDelayMsMax);
    await target.close();
  });

  it('counts a payment that never settles within the bound as unsettled, not as a lag of 0', async () => {
    const clock = new ManualClock();
    const gateway = new FakeGateway(
      undefined,
      settlingAfter(() => clock.now(), Number.POSITIVE_INFINITY),
    );
    const sampling = { ...everyPayment, waitMsMax: 2_000 };
    const target = targetOn(gateway, { clock, settlementSampling: sampling });
    const observer = recordingObserver();
    await target.open(observer);

    await target.execute(pay(0, 'pay_cross_cell'));
    await target.settled();

    expect(observer.lags).toEqual([]);
    expect(observer.unsettled).toBe(1);
    // It gave up at its bound, not before and not long after.
    expect(clock.now()).toBeGreaterThanOrEqual(2_000);
    expect(clock.now()).toBeLessThanOrEqual(2_000 + sampling.pollDelayMsMax);
    await target.close();
  });

  it('keeps polling through failed queries until the payment settles', async () => {
    const clock = new ManualClock();
    let failures = 2;
    const gateway = new FakeGateway(
      (method) => {
        if (method !== 'GetPayment' || failures === 0) return undefined;
        failures -= 1;
        return refusal(status.UNAVAILABLE, 'cell_unavailable');
      },
      settlingAfter(() => clock.now(), 100),
    );
    const target = targetOn(gateway, { clock, settlementSampling: everyPayment });
    const observer = recordingObserver();
    await target.open(observer);

    await target.execute(pay(0, 'pay_cross_cell'));
    await target.settled();

    // Failed polls at 50 and 150 ms, the payment seen settled at the next one (350 ms).
    expect(observer.lags).toEqual([0.35]);
    expect(observer.unsettled).toBe(0);
    await target.close();
  });

  it('follows only cross-cell payments, one in everyNth, at most inFlightMax at once', async () => {
    const clock = new ManualClock();
    const gateway = new FakeGateway(
      undefined,
      settlingAfter(() => clock.now(), 50),
    );
    const lines: string[] = [];
    const target = targetOn(gateway, {
      clock,
      settlementSampling: { ...defaultSettlementSampling, everyNth: 2, inFlightMax: 1 },
      log: (line) => lines.push(line),
    });
    const observer = recordingObserver();
    await target.open(observer);

    await target.execute(pay(0, 'pay_same_cell'));
    // Four cross-cell payments acknowledged before any poll ran: the 1st and 3rd are sampled, and
    // the 3rd finds the only follow slot taken.
    await Promise.all(
      [1, 2, 3, 4].map((sequence) => target.execute(pay(sequence, 'pay_cross_cell'))),
    );
    await target.settled();

    expect(observer.lags).toEqual([0.05]);
    expect(lines.at(-1)).toBe(
      'settlement: 4 cross-cell payments acknowledged, 1 followed, 1 settled, 0 unsettled, 1 skipped (follow limit), 0 failed polls',
    );
    await target.close();
  });
});

describe('settlement follower after close', () => {
  it('stops following when the target closes: no poll on a closed client, nothing reported', async () => {
    const wakeUps: (() => void)[] = [];
    const clock: FollowerClock = {
      now: () => 0,
      sleep: () => new Promise<void>((resolve) => wakeUps.push(resolve)),
    };
    const gateway = new FakeGateway(undefined, settlingAfter(clock.now, 10));
    const target = targetOn(gateway, { clock, settlementSampling: everyPayment });
    const observer = recordingObserver();
    await target.open(observer);
    await target.execute(pay(0, 'pay_cross_cell'));
    expect(wakeUps).toHaveLength(1);

    await target.close();
    for (const wakeUp of wakeUps) wakeUp();
    await new Promise((resolve) => setImmediate(resolve));

    expect(gateway.queries).toEqual([]);
    expect(observer.lags).toEqual([]);
    expect(observer.unsettled).toBe(0);
  });
});

// Real time, a few seconds: the engine's schedule and the follower's polls share its clock.
describe('settlement lag in the per-second curve', () => {
  const crossCellOnly = new OperationPicker(
    { weights: { pay_same_cell: 0, pay_cross_cell: 1, refund: 0, query: 0 }, hotMerchantShare: 0 },
    seededRandom(1),
  );
  const runOn = (target: GatewayTarget, durationSeconds: number) =>
    runLoad({
      profile: createProfile({ kind: 'constant', rate: 1, durationSeconds }),
      picker: crossCellOnly,
      target,
      inFlightMax: 10,
      requestCountMax: 100,
      drainTimeoutMs: 1_000,
      seed: 1,
    });

  it('files each lag under the second the payment settled and waits for the tail', async () => {
    // Settles 1.2 s after its acknowledgement; the follower's polls see it at about 1.35 s.
    const gateway = new FakeGateway(
      undefined,
      settlingAfter(() => performance.now(), 1_200),
    );
    const report = await runOn(targetOn(gateway, { settlementSampling: everyPayment }), 2);

    expect(report.summary.ok).toBe(2);
    expect(report.summary.settlementUnsettled).toBe(0);
    expect(report.summary.settlementLagMs?.count).toBe(2);
    // Acknowledged at about 0 and 1 s, settled at about 1.35 and 2.35 s: the second one after the
    // last arrival (1 s), kept by the tail wait.
    const settledSeconds = report.seconds.filter((second) => second.settlementLagMs !== null);
    expect(settledSeconds.map((second) => second.second)).toEqual([1, 2]);
    for (const second of settledSeconds) {
      expect(second.settlementLagMs?.count).toBe(1);
      expect(second.settlementLagMs?.p50).toBeGreaterThanOrEqual(1_200);
      expect(second.settlementLagMs?.p50).toBeLessThan(1_200 + everyPayment.pollDelayMsMax + 100);
    }
  }, 15_000);

  it('reports payments that never settle as unsettled in the summary, with no lag', async () => {
    const gateway = new FakeGateway(
      undefined,
      settlingAfter(() => performance.now(), Number.POSITIVE_INFINITY),
    );
    const target = targetOn(gateway, { settlementSampling: { ...everyPayment, waitMsMax: 600 } });
    const report = await runOn(target, 2);

    expect(report.summary.ok).toBe(2);
    expect(report.summary.settlementUnsettled).toBe(2);
    expect(report.summary.settlementLagMs).toBeNull();
    expect(report.seconds.every((second) => second.settlementLagMs === null)).toBe(true);
  }, 15_000);
});
