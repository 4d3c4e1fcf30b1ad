import type { CurrencyCode } from '@cellpay/money';

import { TargetSetupError } from '../load-target';
import { errorStatusOf } from './gateway-outcome';
import { type CellOfUser, type GatewayClient, idsSpreadOverCells } from './load-fleet';

/** Bounds of the setup phase, whatever the flags say. */
export const payerSetupLimits = {
  payersMax: 10_000,
  /** Wallet calls (open, then top up) in flight at once during setup. */
  inFlightMax: 16,
  /** IDs tried per wanted payer before giving up on filling a cell. */
  attemptsPerPayerMax: 200,
} as const;

export interface PayerSetupOptions {
  /** Prefix of the payers' user IDs; unique per run so wallets never collide with earlier runs. */
  readonly userIdPrefix: string;
  /** The cells payers are spread over, evenly. */
  readonly cells: readonly string[];
  readonly payers: number;
  readonly currency: CurrencyCode;
  /** What each wallet is topped up with, in minor units. */
  readonly topUpMinor: bigint;
}

export interface PayerSetupResult {
  /** The funded wallets' account IDs by cell. */
  readonly payersByCell: ReadonlyMap<string, readonly string[]>;
  /** Wallets that could not be opened or funded, by status; they take no part in the run. */
  readonly failures: ReadonlyMap<string, number>;
}

/**
 * Opens the payers' wallets and funds them through the wallet API, as a first-party wallet
 * backend does: user IDs are chosen so each cell gets an even share, calls run with a bounded
 * number in flight, and a wallet that fails is counted by status and left out. A cell left
 * without any funded payer stops the setup: the mix could not be played as asked.
 */
export async function setUpPayers(
  wallet: GatewayClient,
  cellOfUser: CellOfUser,
  options: PayerSetupOptions,
): Promise<PayerSetupResult> {
  if (!Number.isInteger(options.payers) || options.payers < options.cells.length) {
    throw new Error(
      `payers must be a whole number of at least one per cell (${options.cells.length})`,
    );
  }
  if (options.payers > payerSetupLimits.payersMax) {
    throw new Error(`payers must be at most ${payerSetupLimits.payersMax}`);
  }
  const perCell = Math.floor(options.payers / options.cells.length);
  const userIds = idsSpreadOverCells(
    options.userIdPrefix,
    options.cells,
    perCell,
    cellOfUser,
    options.payers * payerSetupLimits.attemptsPerPayerMax,
  );
  const jobs = [...userIds].flatMap(([cellId, ids]) => ids.map((userId) => ({ cellId, userId })));
  const payersByCell = new Map<string, string[]>(options.cells.map((cell) => [cell, []]));
  const failures = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
      let step: 'open' | 'top_up' = 'open';
      try {
        const account = await wallet.openAccount({
          userId: job.userId,
          currency: options.currency,
        });
        step = 'top_up';
        await wallet.topUp({
          requestId: `${job.userId}-funding`,
          accountId: account.accountId,
          amount: { amountMinor: options.topUpMinor, currency: options.currency },
        });
        payersByCell.get(job.cellId)?.push(account.accountId);
      } catch (error) {
        const status = errorStatusOf(`setup_${step}`, error);
        failures.set(status, (failures.get(status) ?? 0) + 1);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(payerSetupLimits.inFlightMax, jobs.length) }, worker),
  );
  const empty = [...payersByCell].filter(([, ids]) => ids.length === 0).map(([cell]) => cell);
  if (empty.length > 0) {
    const reasons = [...failures].map(([status, count]) => `${status} ×${count}`).join(', ');
    const hint = reasons.includes('stress_traffic_rejected')
      ? '; the platform refuses shadow traffic (no shadow tables yet, or the reject_stress_traffic switch is on): use --live for real traffic'
      : '';
    throw new TargetSetupError(
      `no payer wallet could be set up in ${empty.join(', ')} (${reasons || 'no calls'})${hint}`,
    );
  }
  return { payersByCell, failures };
}
