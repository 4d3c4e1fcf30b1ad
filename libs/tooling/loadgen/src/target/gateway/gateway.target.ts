import type { Money } from '@cellpay/money';

import { type RandomSource, seededRandom } from '../../engine/seeded-random';
import type { LoadOperation } from '../../mix/operation-mix';
import {
  type LoadTarget,
  type LoadTargetObserver,
  type OperationOutcome,
  okStatus,
} from '../load-target';
import { errorStatusOf } from './gateway-outcome';
import type {
  CellOfUser,
  FleetMerchant,
  GatewayClient,
  GatewayClientFactory,
  LoadFleet,
} from './load-fleet';
import { PaymentPlan, RecentPayments } from './payment-plan';
import { setUpPayers } from './payer-setup';
import {
  defaultSettlementSampling,
  type FollowerClock,
  realClock,
  SettlementFollower,
  type SettlementSampling,
} from './settlement-follower';

/** A refund drawn before any payment succeeded: nothing was sent. */
export const noPaymentToRefundStatus = 'refund.no_payment_to_refund_yet';
/** Payments remembered for refunds and queries. */
export const recentPaymentsMax = 20_000;
/** Payment amounts are `amountMinorMin + amountStepMinor * n`, n in 0..amountStepsMax-1. */
export const amountStepsMax = 100;

export interface GatewayTargetOptions {
  readonly fleet: LoadFleet;
  readonly clientFactory: GatewayClientFactory;
  readonly cellOfUser: CellOfUser;
  /** The cells the run uses: payers are spread over them, merchants outside them are left idle. */
  readonly cells: readonly string[];
  readonly payers: number;
  readonly topUpMinor: bigint;
  readonly amountMinorMin: bigint;
  readonly amountStepMinor: bigint;
  /** Shadow (stress) traffic: every request carries the stress mark. */
  readonly stress: boolean;
  /** Whether the mix has cross-cell payments (they need two cells or more). */
  readonly crossCell: boolean;
  /** Unique per run: it prefixes user IDs, out_trade_no and out_refund_no. */
  readonly runTag: string;
  readonly seed: number;
  readonly log: (line: string) => void;
  /** Which cross-cell payments are followed to settled, and how (defaultSettlementSampling). */
  readonly settlementSampling?: SettlementSampling;
  /** The follower's clock (tests pass a fake one). */
  readonly clock?: FollowerClock;
}

interface OpenState {
  readonly merchantClients: ReadonlyMap<string, GatewayClient>;
  readonly wallet: GatewayClient;
  readonly plan: PaymentPlan;
  readonly payers: readonly string[];
  readonly follower: SettlementFollower;
}

/**
 * The cluster behind its gateway, through the merchant SDK: each merchant signs with its own
 * credential, and a first-party wallet backend opens and funds the payers first (during `open`,
 * before the run's clock starts). Operations: same-cell and cross-cell payments (a payer in the
 * merchant's cell or in another one), refunds of earlier payments (the oldest not yet refunded,
 * in full) and queries (GetPayment of a recent payment; a payer's balance before the first
 * payment). Every error is counted by what was sent, its gRPC status and the platform's reason.
 */
export class GatewayTarget implements LoadTarget {
  readonly name = 'gateway';
  private readonly random: RandomSource;
  private readonly recent: RecentPayments;
  private state: OpenState | undefined;

  constructor(private readonly options: GatewayTargetOptions) {
    if (options.amountMinorMin <= 0n || options.amountStepMinor < 0n) {
      throw new Error('payment amounts must be positive');
    }
    const amountMaxMinor =
      options.amountMinorMin + options.amountStepMinor * BigInt(amountStepsMax - 1);
    if (options.topUpMinor < amountMaxMinor) {
      throw new Error('the top-up must cover at least one payment of the largest amount');
    }
    this.random = seededRandom(options.seed);
    this.recent = new RecentPayments(recentPaymentsMax, this.random);
  }

  get settlementTailWaitMsMax(): number {
    return SettlementFollower.tailWaitMsMaxOf(
      this.options.settlementSampling ?? defaultSettlementSampling,
    );
  }

  async open(observer: LoadTargetObserver): Promise<void> {
    const options = this.options;
    const fleet = options.fleet;
    const wallet = options.clientFactory(fleet.walletBackend, options.stress);
    const merchantClients = new Map<string, GatewayClient>();
    try {
      for (const merchant of fleet.merchants) {
        merchantClients.set(
          merchant.merchantId,
          options.clientFactory(merchant.credential, options.stress),
        );
      }
      options.log(
        `setup: opening and funding ${options.payers} payer wallets over ${options.cells.join(', ')} (${options.stress ? 'shadow' : 'live'} traffic)`,
      );
      const setup = await setUpPayers(wallet, options.cellOfUser, {
        userIdPrefix: `${options.runTag}-payer-`,
        cells: options.cells,
        payers: options.payers,
        currency: fleet.currency,
        topUpMinor: options.topUpMinor,
      });
      const failed = [...setup.failures].map(([status, count]) => `${status} ×${count}`);
      const funded = [...setup.payersByCell.values()].reduce((sum, ids) => sum + ids.length, 0);
      options.log(
        `setup: ${funded} payers funded${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`,
      );
      this.state = {
        merchantClients,
        wallet,
        plan: new PaymentPlan(fleet.merchants, setup.payersByCell, this.random, options.crossCell),
        payers: [...setup.payersByCell.values()].flat(),
        follower: new SettlementFollower(
          observer,
          options.settlementSampling ?? defaultSettlementSampling,
          options.clock ?? realClock,
        ),
      };
    } catch (error) {
      wallet.close();
      for (const client of merchantClients.values()) client.close();
      throw error;
    }
  }

  async execute(operation: LoadOperation): Promise<OperationOutcome> {
    const state = this.state;
    if (state === undefined) throw new Error('the gateway target is not open');
    try {
      switch (operation.kind) {
        case 'pay_same_cell':
        case 'pay_cross_cell':
          return await this.pay(state, operation);
        case 'refund':
          return await this.refund(state, operation);
        case 'query':
          return await this.query(state);
      }
    } catch (error) {
      return { status: errorStatusOf(operation.kind, error) };
    }
  }

  /** Waits for the followed settlements (each is bounded by the sampling's waitMsMax). */
  async settled(): Promise<void> {
    const state = this.state;
    if (state === undefined) return;
    await state.follower.settled();
    const counts = state.follower.counts;
    this.options.log(
      `settlement: ${counts.acknowledged} cross-cell payments acknowledged, ${counts.followed} followed, ${counts.settled} settled, ${counts.unsettled} unsettled, ${counts.skippedAtLimit} skipped (follow limit), ${counts.pollErrors} failed polls`,
    );
  }

  close(): Promise<void> {
    const state = this.state;
    this.state = undefined;
    if (state !== undefined) {
      state.follower.stop();
      state.wallet.close();
      for (const client of state.merchantClients.values()) client.close();
    }
    return Promise.resolve();
  }

  /** Payments made so far that no refund has taken yet (for tests and reports). */
  get refundablePayments(): number {
    return this.recent.refundableCount;
  }

  private async pay(state: OpenState, operation: LoadOperation): Promise<OperationOutcome> {
    const planned = state.plan.paymentFor(operation);
    const amount: Money = {
      amountMinor:
        this.options.amountMinorMin +
        this.options.amountStepMinor * BigInt(Math.floor(this.random() * amountStepsMax)),
      currency: this.options.fleet.currency,
    };
    const client = this.clientOf(state, planned.merchant);
    const payment = await client.pay({
      outTradeNo: `${this.options.runTag}-${operation.sequence}`,
      payerAccountId: planned.payerAccountId,
      amount,
    });
    state.follower.acknowledged(
      client,
      payment.paymentId,
      payment.settlementState,
      (this.options.clock ?? realClock).now(),
    );
    this.recent.add({
      paymentId: payment.paymentId,
      merchant: planned.merchant,
      amountMinor: amount.amountMinor,
    });
    return { status: okStatus };
  }

  private async refund(state: OpenState, operation: LoadOperation): Promise<OperationOutcome> {
    const payment = this.recent.takeForRefund();
    if (payment === undefined) return { status: noPaymentToRefundStatus };
    await this.clientOf(state, payment.merchant).refund({
      paymentId: payment.paymentId,
      outRefundNo: `${this.options.runTag}-refund-${operation.sequence}`,
      amountMinor: payment.amountMinor,
    });
    return { status: okStatus };
  }

  private async query(state: OpenState): Promise<OperationOutcome> {
    const payment = this.recent.anyRecent();
    if (payment !== undefined) {
      await this.clientOf(state, payment.merchant).getPayment({ paymentId: payment.paymentId });
    } else {
      const payer = state.payers[Math.floor(this.random() * state.payers.length)] ?? '';
      await state.wallet.getBalance({ accountId: payer });
    }
    return { status: okStatus };
  }

  private clientOf(state: OpenState, merchant: FleetMerchant): GatewayClient {
    const client = state.merchantClients.get(merchant.merchantId);
    if (client === undefined) throw new Error(`no client for merchant ${merchant.merchantId}`);
    return client;
  }
}
