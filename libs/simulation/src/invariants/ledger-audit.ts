import {
  type Account,
  AccountKind,
  type CellTransaction,
  type Journal,
  signedAmount,
} from '@cellpay/cell-domain';

import { SettlementEventType } from '@cellpay/settlement-domain';

import type { SimCell } from '../cell/sim-cell';
import { InvariantName, type ViolationLog } from './violation';

/** Rows read per page while auditing a shard. */
const auditPageSizeMax = 500;

/** Every row of one table of a shard, read in bounded pages in ID order. */
async function readAll<T extends { readonly id: string }>(
  cell: SimCell,
  listAfter: (tx: CellTransaction, afterId: string, limit: number) => Promise<readonly T[]>,
): Promise<T[]> {
  const rows: T[] = [];
  for (let afterId = ''; ;) {
    const page = await cell.store.run('sim.audit', (tx) =>
      listAfter(tx, afterId, auditPageSizeMax),
    );
    rows.push(...page);
    const last = page.at(-1);
    if (last === undefined || page.length < auditPageSizeMax) return rows;
    afterId = last.id;
  }
}

export function allAccounts(cell: SimCell): Promise<Account[]> {
  return readAll(cell, (tx, afterId, limit) => tx.accounts.listAfter(afterId, limit));
}

export function allJournals(cell: SimCell): Promise<Journal[]> {
  return readAll(cell, (tx, afterId, limit) => tx.journals.listAfter(afterId, limit));
}

export function checkJournalBalanced(
  cellId: string,
  journal: Journal,
  violations: ViolationLog,
): void {
  const net = new Map<string, bigint>();
  for (const line of journal.lines) {
    net.set(line.currency, (net.get(line.currency) ?? 0n) + signedAmount(line));
  }
  for (const [currency, difference] of net) {
    if (difference !== 0n) {
      violations.report(
        InvariantName.JournalBalanced,
        `${cellId} journal ${journal.id} is off by ${difference} ${currency}`,
      );
    }
  }
}

export function checkFloor(cellId: string, account: Account, violations: ViolationLog): void {
  if (!account.allowNegative && account.balanceMinor - account.heldMinor < 0n) {
    violations.report(
      InvariantName.BalanceNotBelowFloor,
      `${cellId} account ${account.id} (${account.kind}) is at ${account.balanceMinor - account.heldMinor}`,
    );
  }
}

/**
 * Money in flight from one cell to another: credit requests in the source's outbox not yet in the
 * destination's inbox (the workload's only money event; confirmations carry no money).
 */
export function inFlightMinor(from: SimCell, to: SimCell): bigint {
  let total = 0n;
  for (const { event } of from.settlementTables.outboxRows()) {
    if (
      event.type === SettlementEventType.CreditRequested &&
      event.destinationCellId === to.cellId &&
      !to.settlementTables.hasApplied(event.eventId)
    ) {
      total += event.amountMinor;
    }
  }
  return total;
}

/**
 * The cross-cell audit: every journal balanced, no account under its floor, the money held by
 * customers and in clearing equal to what came in (top-ups) minus what went out (nothing leaves in
 * the simulated workload), and each pair of clearing accounts netting to the money in flight
 * between the two cells (zero when `quiet`).
 */
export async function auditLedgers(
  cells: readonly SimCell[],
  moneyInMinor: bigint,
  quiet: boolean,
  violations: ViolationLog,
): Promise<Map<string, Account>> {
  const accountsById = new Map<string, Account>();
  const accountsOfCell = new Map<string, Account[]>();
  let heldByCustomersAndClearing = 0n;
  for (const cell of cells) {
    const accounts = await allAccounts(cell);
    accountsOfCell.set(cell.cellId, accounts);
    for (const journal of await allJournals(cell)) {
      checkJournalBalanced(cell.cellId, journal, violations);
    }
    for (const account of accounts) {
      accountsById.set(account.id, account);
      checkFloor(cell.cellId, account, violations);
      if (account.kind !== AccountKind.ExternalFunding) {
        heldByCustomersAndClearing += account.balanceMinor;
      }
    }
  }
  if (heldByCustomersAndClearing !== moneyInMinor) {
    violations.report(
      InvariantName.GlobalSumEqualsInMinusOut,
      `accounts hold ${heldByCustomersAndClearing} but ${moneyInMinor} came in and 0 went out`,
    );
  }
  const clearingOf = (cell: SimCell, counterparty: string): bigint =>
    accountsOfCell
      .get(cell.cellId)
      ?.find((account) => account.kind === AccountKind.Clearing && account.ownerId === counterparty)
      ?.balanceMinor ?? 0n;
  for (const [leftIndex, left] of cells.entries()) {
    for (const right of cells.slice(leftIndex + 1)) {
      const net = clearingOf(left, right.cellId) + clearingOf(right, left.cellId);
      const inFlight = inFlightMinor(left, right) + inFlightMinor(right, left);
      if (net !== inFlight) {
        violations.report(
          InvariantName.ClearingNetsToInFlight,
          `clearing ${left.cellId}<->${right.cellId} nets to ${net}, money in flight is ${inFlight}`,
        );
      }
      if (quiet && (net !== 0n || inFlight !== 0n)) {
        violations.report(
          InvariantName.ClearingZeroWhenQuiet,
          `clearing ${left.cellId}<->${right.cellId} nets to ${net} with ${inFlight} in flight at rest`,
        );
      }
    }
  }
  return accountsById;
}
