import { randomBytes } from 'node:crypto';

import type { LoadTarget, OperationOutcome } from '@cellpay/loadgen';
import type { CurrencyCode } from '@cellpay/money';
import { CellpayClient, CellpayError, toCellpayError } from '@cellpay/sdk';

/** Hard bounds of a drill's load, whatever the flags say: drills run beside real traffic. */
export const drillLoadLimits = {
  ratePerSecondMax: 500,
  durationSecondsMax: 600,
  payersMax: 200,
  inFlightMax: 2_000,
  /** Acknowledged payments remembered for the RPO check; the load never exceeds it. */
  acknowledgedMax: 300_000,
} as const;

export interface DrillGateway {
  /** host:port of the gateway. */
  readonly address: string;
  /** A merchant credential with the `pay` scope: the drill pays like a merchant. */
  readonly merchant: { readonly keyId: string; readonly secret: Buffer };
  /** A first-party credential with the `wallet` scope: opens and funds the payers. */
  readonly walletBackend: { readonly keyId: string; readonly secret: Buffer };
}

export interface DrillLoadSettings {
  readonly payers: number;
  readonly currency: CurrencyCode;
  /** Each payment's amount, minor units. */
  readonly amountMinor: bigint;
  /** Each payer's top-up, minor units: enough for every payment the drill can make. */
  readonly topUpMinor: bigint;
  /** Deadline of one attempt; the SDK retries retryable statuses like a merchant would. */
  readonly deadlineMs: number;
  readonly retriesMax: number;
}

export const drillLoadSettingsDefault: DrillLoadSettings = {
  payers: 20,
  currency: 'CNY',
  amountMinor: 1n,
  topUpMinor: 1_000_000n,
  deadlineMs: 3_000,
  retriesMax: 4,
};

/**
 * One payer of the drill: its user ID (which fixes its slot and so its cell) and the group the
 * report counts it in (a migration drill tells the users of the moving slots from the others).
 */
export interface DrillPayer {
  readonly userId: string;
  readonly group: string;
}

/** The group of every payer when the drill does not split them. */
export const allPayersGroup = 'all';

/** One payment the platform acknowledged: the RPO check looks for each of them afterwards. */
export interface AcknowledgedPayment {
  readonly paymentId: string;
  readonly outTradeNo: string;
  /** When the acknowledgement arrived (epoch ms). */
  readonly acknowledgedAtMs: number;
  /** The payer's group (`all` unless the drill splits its payers). */
  readonly group?: string;
}

export interface WriteAttempt {
  readonly startedAtMs: number;
  readonly completedAtMs: number;
  readonly status: string;
  readonly group?: string;
}

/** Upper bound on write attempts kept for the RTO computation. */
export const writeAttemptsMax = drillLoadLimits.acknowledgedMax * 2;

/** What the drill runner needs of its load target: a loadgen target that remembers outcomes. */
export interface DrillTarget extends LoadTarget {
  /** Sets up what the load needs (payers, funds) before the clock starts. */
  prepare(): Promise<void>;
  readonly acknowledged: readonly AcknowledgedPayment[];
  readonly attempts: readonly WriteAttempt[];
}

/**
 * The drill's load target: payments from a fixed set of funded wallets through the gateway, signed
 * by the SDK. It records every acknowledged payment (for RPO) and every attempt's outcome and times
 * (for RTO and the errors clients saw, by status and reason).
 */
export class DrillPaymentTarget implements DrillTarget {
  readonly name = 'drill';
  readonly acknowledged: AcknowledgedPayment[] = [];
  readonly attempts: WriteAttempt[] = [];
  private merchant: CellpayClient | undefined;
  private payerAccounts: { readonly accountId: string; readonly group: string }[] = [];
  private readonly runId: string;
  private readonly payers: readonly DrillPayer[];

  /**
   * `payers` chooses who pays (payment `sequence` takes them in turn, so their order sets each
   * group's share of the load); without it the target opens `settings.payers` fresh users.
   */
  constructor(
    private readonly gateway: DrillGateway,
    private readonly settings: DrillLoadSettings = drillLoadSettingsDefault,
    payers?: { readonly runId: string; readonly payers: readonly DrillPayer[] },
  ) {
    this.runId = payers?.runId ?? randomBytes(4).toString('hex');
    this.payers =
      payers?.payers ??
      Array.from({ length: settings.payers }, (_, index) => ({
        userId: `drill-${this.runId}-${index}`,
        group: allPayersGroup,
      }));
    if (this.payers.length < 1 || this.payers.length > drillLoadLimits.payersMax) {
      throw new Error(`a drill uses 1..${drillLoadLimits.payersMax} payers`);
    }
    if (settings.amountMinor <= 0n) throw new Error('the drill amount must be positive');
  }

  /** Opens and funds the payers before the clock starts (not part of the measured load). */
  async prepare(): Promise<void> {
    const wallets = new CellpayClient({
      address: this.gateway.address,
      ...this.gateway.walletBackend,
      deadlineMs: this.settings.deadlineMs,
    });
    try {
      for (const [index, payer] of this.payers.entries()) {
        const account = await wallets.openAccount({
          userId: payer.userId,
          currency: this.settings.currency,
        });
        await wallets.topUp({
          requestId: `drill-${this.runId}-topup-${index}`,
          accountId: account.accountId,
          amount: { amountMinor: this.settings.topUpMinor, currency: this.settings.currency },
        });
        this.payerAccounts.push({ accountId: account.accountId, group: payer.group });
      }
    } finally {
      wallets.close();
    }
  }

  async open(): Promise<void> {
    if (this.payerAccounts.length === 0) await this.prepare();
    this.merchant = new CellpayClient({
      address: this.gateway.address,
      ...this.gateway.merchant,
      deadlineMs: this.settings.deadlineMs,
      retriesMax: this.settings.retriesMax,
    });
  }

  async execute(operation: { readonly sequence: number }): Promise<OperationOutcome> {
    const merchant = this.merchant;
    if (merchant === undefined) throw new Error('drill target used before open()');
    const payer = this.payerAccounts[operation.sequence % this.payerAccounts.length];
    if (payer === undefined) throw new Error('drill target used before prepare()');
    const outTradeNo = `drill-${this.runId}-${operation.sequence}`;
    const startedAtMs = Date.now();
    let status: string;
    try {
      const payment = await merchant.pay({
        outTradeNo,
        payerAccountId: payer.accountId,
        amount: { amountMinor: this.settings.amountMinor, currency: this.settings.currency },
      });
      status = 'ok';
      if (this.acknowledged.length < drillLoadLimits.acknowledgedMax) {
        this.acknowledged.push({
          paymentId: payment.paymentId,
          outTradeNo,
          acknowledgedAtMs: Date.now(),
          group: payer.group,
        });
      }
    } catch (error) {
      const refusal = error instanceof CellpayError ? error : toCellpayError(error);
      status = `${refusal.codeName}.${refusal.reason}`;
    }
    if (this.attempts.length < writeAttemptsMax) {
      this.attempts.push({ startedAtMs, completedAtMs: Date.now(), status, group: payer.group });
    }
    return { status };
  }

  async close(): Promise<void> {
    this.merchant?.close();
  }
}
