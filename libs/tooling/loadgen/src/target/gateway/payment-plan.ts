import type { RandomSource } from '../../engine/seeded-random';
import type { LoadOperation } from '../../mix/operation-mix';
import type { FleetMerchant } from './load-fleet';

/** Who pays whom for one payment arrival. */
export interface PlannedPayment {
  readonly merchant: FleetMerchant;
  readonly payerAccountId: string;
  readonly crossCell: boolean;
}

function pickFrom<T>(items: readonly T[], random: RandomSource): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('picked from an empty list');
  return item;
}

/**
 * Turns a payment arrival into a payer and a merchant: the hot merchant for the hot share,
 * otherwise any other merchant; a payer in the merchant's own cell for a same-cell payment, in
 * one of the other cells for a cross-cell payment. Checked at construction, so a mix that cannot
 * be played (cross-cell payments on one cell, a cell without payers) never starts.
 */
export class PaymentPlan {
  private readonly hotMerchant: FleetMerchant | undefined;
  private readonly evenMerchants: readonly FleetMerchant[];
  private readonly cells: readonly string[];

  constructor(
    merchants: readonly FleetMerchant[],
    private readonly payersByCell: ReadonlyMap<string, readonly string[]>,
    private readonly random: RandomSource,
    crossCellWanted: boolean,
  ) {
    this.cells = [...payersByCell.keys()];
    const served = merchants.filter((merchant) => payersByCell.has(merchant.cellId));
    if (served.length === 0) throw new Error('no merchant lives in a cell that has payers');
    this.hotMerchant = served.find((merchant) => merchant.hot);
    const even = served.filter((merchant) => !merchant.hot);
    this.evenMerchants = even.length > 0 ? even : served;
    for (const [cell, payers] of payersByCell) {
      if (payers.length === 0) throw new Error(`${cell} has no payers`);
    }
    if (crossCellWanted && this.cells.length < 2) {
      throw new Error('cross-cell payments need payers in at least two cells');
    }
  }

  paymentFor(operation: LoadOperation): PlannedPayment {
    const merchant =
      operation.hotMerchant && this.hotMerchant !== undefined
        ? this.hotMerchant
        : pickFrom(this.evenMerchants, this.random);
    const crossCell = operation.kind === 'pay_cross_cell';
    const payerCell = crossCell
      ? pickFrom(
          this.cells.filter((cell) => cell !== merchant.cellId),
          this.random,
        )
      : merchant.cellId;
    const payers = this.payersByCell.get(payerCell) ?? [];
    return { merchant, payerAccountId: pickFrom(payers, this.random), crossCell };
  }
}

/** A payment the run made, kept for later refunds and queries. */
export interface MadePayment {
  readonly paymentId: string;
  readonly merchant: FleetMerchant;
  readonly amountMinor: bigint;
}

/**
 * The payments made so far, bounded: refunds take the oldest not yet refunded (the most likely
 * to be settled if it crossed cells), each at most once; queries read any recent one. Past the
 * bound the oldest are forgotten, never the memory grown.
 */
export class RecentPayments {
  private readonly refundable: MadePayment[] = [];
  private refundableHead = 0;
  private readonly recent: MadePayment[] = [];
  private recentNext = 0;

  constructor(
    private readonly capacityMax: number,
    private readonly random: RandomSource,
  ) {
    if (!Number.isInteger(capacityMax) || capacityMax < 1) {
      throw new Error('the recent payments capacity must be a whole number of at least 1');
    }
  }

  add(payment: MadePayment): void {
    if (this.refundable.length - this.refundableHead >= this.capacityMax) this.refundableHead += 1;
    this.refundable.push(payment);
    // Compact now and then, so the queue's array stays within twice the bound.
    if (this.refundableHead >= this.capacityMax) {
      this.refundable.splice(0, this.refundableHead);
      this.refundableHead = 0;
    }
    if (this.recent.length < this.capacityMax) this.recent.push(payment);
    else this.recent[this.recentNext] = payment;
    this.recentNext = (this.recentNext + 1) % this.capacityMax;
  }

  /** The oldest payment not yet refunded, removed from the queue; undefined if there is none. */
  takeForRefund(): MadePayment | undefined {
    if (this.refundableHead >= this.refundable.length) return undefined;
    const payment = this.refundable[this.refundableHead];
    this.refundableHead += 1;
    return payment;
  }

  /** Any recent payment, for a query; undefined before the first one. */
  anyRecent(): MadePayment | undefined {
    if (this.recent.length === 0) return undefined;
    return this.recent[Math.floor(this.random() * this.recent.length)];
  }

  get refundableCount(): number {
    return this.refundable.length - this.refundableHead;
  }
}
