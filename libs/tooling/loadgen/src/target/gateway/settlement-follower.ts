import type { LoadTargetObserver } from '../load-target';
import type { GatewayClient } from './load-fleet';

/** The `settlement_state` of a cross-cell payment once the payee's cell confirmed the credit. */
export const settledState = 'settled';
/** The `settlement_state` of a cross-cell payment the payer's cell acknowledged, not yet settled. */
export const settlingState = 'settling';

/**
 * How the gateway target follows cross-cell payments to measure their settlement lag. It follows
 * a bounded sample so that the polling it adds stays small beside the load it measures.
 */
export interface SettlementSampling {
  /** Follow one in this many payments acknowledged as `settling` (1: every one). */
  readonly everyNth: number;
  /** Payments followed at once at most; a sampled payment beyond it is skipped (counted). */
  readonly inFlightMax: number;
  /** The first GetPayment goes this long after the acknowledgement; each next one waits twice as long... */
  readonly pollDelayMsMin: number;
  /** ...up to this: a measured lag overstates the real one by less than this. */
  readonly pollDelayMsMax: number;
  /** A payment not seen settled this long after its acknowledgement counts as unsettled. */
  readonly waitMsMax: number;
}

export const defaultSettlementSampling: SettlementSampling = {
  everyNth: 5,
  inFlightMax: 32,
  pollDelayMsMin: 50,
  pollDelayMsMax: 200,
  waitMsMax: 30_000,
};

/** A clock in milliseconds and a way to wait: real time by default, a fake one in tests. */
export interface FollowerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: FollowerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What the follower saw, for the run's log line and for tests. */
export interface SettlementFollowerCounts {
  /** Payments acknowledged as `settling` (the population the sample is drawn from). */
  acknowledged: number;
  followed: number;
  settled: number;
  unsettled: number;
  /** Sampled payments not followed because `inFlightMax` were already followed. */
  skippedAtLimit: number;
  /** GetPayment calls that failed (the payment stays followed until its bound). */
  pollErrors: number;
}

/**
 * Follows a sample of cross-cell payments with GetPayment until their `settlement_state` is
 * `settled`, and reports acknowledgement -> settled to the observer at the moment it sees the
 * payment settled (so the engine files the lag under the second the payment settled). The query
 * goes with the merchant's own client, so it carries the same stress mark as the payment: a shadow
 * payment is read from the shadow tables it settles through.
 */
export class SettlementFollower {
  readonly counts: SettlementFollowerCounts = {
    acknowledged: 0,
    followed: 0,
    settled: 0,
    unsettled: 0,
    skippedAtLimit: 0,
    pollErrors: 0,
  };
  private readonly followed = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly observer: LoadTargetObserver,
    private readonly sampling: SettlementSampling,
    private readonly clock: FollowerClock = realClock,
  ) {
    const positiveInteger = (value: number): boolean => Number.isInteger(value) && value >= 1;
    if (!positiveInteger(sampling.everyNth) || !positiveInteger(sampling.inFlightMax)) {
      throw new Error('settlement sampling needs whole numbers of 1 or more');
    }
    if (
      !(sampling.pollDelayMsMin > 0 && sampling.pollDelayMsMax >= sampling.pollDelayMsMin) ||
      !(sampling.waitMsMax > 0)
    ) {
      throw new Error(
        'settlement polling needs 0 < pollDelayMsMin <= pollDelayMsMax, waitMsMax > 0',
      );
    }
  }

  /** How long `settled()` may wait at most: the last payment's bound plus one poll. */
  static tailWaitMsMaxOf(sampling: SettlementSampling): number {
    return sampling.waitMsMax + sampling.pollDelayMsMax;
  }

  /**
   * A payment was acknowledged at `acknowledgedAtMs` (the follower's clock) in `state`. Only
   * `settling` payments have a settlement to follow.
   */
  acknowledged(
    client: GatewayClient,
    paymentId: string,
    state: string,
    acknowledgedAtMs: number,
  ): void {
    if (state !== settlingState || this.stopped) return;
    this.counts.acknowledged += 1;
    if ((this.counts.acknowledged - 1) % this.sampling.everyNth !== 0) return;
    if (this.followed.size >= this.sampling.inFlightMax) {
      this.counts.skippedAtLimit += 1;
      return;
    }
    this.counts.followed += 1;
    const following = this.follow(client, paymentId, acknowledgedAtMs).finally(() =>
      this.followed.delete(following),
    );
    this.followed.add(following);
  }

  /**
   * Stops following (the run is over and the clients close): each follow ends at its next poll,
   * reporting nothing.
   */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves once every followed payment settled or reached its bound (tailWaitMsMaxOf). */
  async settled(): Promise<void> {
    while (this.followed.size > 0) await Promise.all([...this.followed]);
  }

  private async follow(
    client: GatewayClient,
    paymentId: string,
    acknowledgedAtMs: number,
  ): Promise<void> {
    const deadlineMs = acknowledgedAtMs + this.sampling.waitMsMax;
    let delayMs = this.sampling.pollDelayMsMin;
    for (;;) {
      const nowMs = this.clock.now();
      if (nowMs >= deadlineMs) break;
      await this.clock.sleep(Math.min(delayMs, deadlineMs - nowMs));
      if (this.stopped) return;
      delayMs = Math.min(delayMs * 2, this.sampling.pollDelayMsMax);
      let state: string;
      try {
        state = (await client.getPayment({ paymentId })).settlementState;
      } catch {
        this.counts.pollErrors += 1;
        continue;
      }
      if (this.stopped) return;
      const answeredAtMs = this.clock.now();
      if (state === settledState && answeredAtMs <= deadlineMs) {
        this.counts.settled += 1;
        this.observer.settlementLag((answeredAtMs - acknowledgedAtMs) / 1000);
        return;
      }
    }
    if (this.stopped) return;
    this.counts.unsettled += 1;
    this.observer.settlementUnsettled();
  }
}
