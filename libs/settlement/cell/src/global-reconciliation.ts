import { AccountKind, type UnitOfWork } from '@cellpay/cell-domain';
import { SettlementEventType } from '@cellpay/settlement-domain';

import type { SettlementStore } from './settlement-records';

/** One cell as global reconciliation reads it: its shard and settlement's tables in it. */
export interface ReconciledCell {
  readonly cellId: string;
  readonly unitOfWork: UnitOfWork;
  readonly store: SettlementStore;
}

export interface InFlightEvent {
  readonly eventId: string;
  readonly type: string;
  readonly sourceCellId: string;
  readonly amountMinor: string;
}

/** The result for one pair of cells and one currency. */
export interface PairReconciliation {
  readonly cellA: string;
  readonly cellB: string;
  readonly currency: string;
  /** A.clearing[B] + B.clearing[A], in minor units. */
  readonly clearingNetMinor: string;
  /** The money events written by one of the two and not yet applied by the other. */
  readonly inFlightMinor: string;
  /** clearingNet - inFlight: zero when the books agree. */
  readonly differenceMinor: string;
  readonly inFlightCount: number;
  /** The first `inFlightListedMax` events in flight, by name. */
  readonly inFlight: readonly InFlightEvent[];
}

export interface GlobalReconciliationReport {
  readonly clean: boolean;
  /** True when nothing is in flight anywhere: then every clearing pair must be exactly zero. */
  readonly quiet: boolean;
  readonly pairs: readonly PairReconciliation[];
}

export const globalReconciliationLimits = {
  /** Outbox rows read per page. */
  pageSize: 1_000,
  /** A cell's outbox is read up to this many money events; more is refused, not truncated. */
  eventsReadMax: 2_000_000,
  /** In-flight events named per pair. */
  inFlightListedMax: 100,
} as const;

/** Events that move money between the clearing accounts (the others only carry news). */
const moneyEventTypes = [
  SettlementEventType.CreditRequested,
  SettlementEventType.RefundDebitApplied,
] as const;

interface CellView {
  readonly cellId: string;
  /** Clearing balance per `counterparty|currency`. */
  readonly clearing: ReadonlyMap<string, bigint>;
  readonly moneyEventsOut: readonly {
    readonly eventId: string;
    readonly type: string;
    readonly destinationCellId: string;
    readonly amountMinor: bigint;
    readonly currency: string;
  }[];
}

/**
 * Global reconciliation: for every pair of cells and currency, the two clearing accounts must net
 * to the money in flight between them (money events one wrote and the other has not applied), and
 * to exactly zero once the system is quiet. Each cell is read from one consistent snapshot; the
 * cells are read one after the other, so under traffic an event applied between two reads can show
 * as a transient difference: a difference is confirmed by reading again (`confirmRounds`).
 */
export async function reconcileGlobal(
  cells: readonly ReconciledCell[],
  confirmRounds = 3,
): Promise<GlobalReconciliationReport> {
  let report = await reconcileOnce(cells);
  for (let round = 1; round < confirmRounds && !report.clean; round++) {
    report = await reconcileOnce(cells);
  }
  return report;
}

async function reconcileOnce(
  cells: readonly ReconciledCell[],
): Promise<GlobalReconciliationReport> {
  const views = new Map<string, CellView>();
  for (const cell of cells) views.set(cell.cellId, await readCell(cell));
  const pairs: PairReconciliation[] = [];
  const ids = [...views.keys()].sort();
  for (const [index, a] of ids.entries()) {
    for (const b of ids.slice(index + 1)) {
      pairs.push(...(await reconcilePair(views, cells, a, b)));
    }
  }
  const clean = pairs.every((pair) => pair.differenceMinor === '0');
  const quiet = pairs.every((pair) => pair.inFlightCount === 0);
  return { clean, quiet, pairs };
}

async function readCell(cell: ReconciledCell): Promise<CellView> {
  return cell.unitOfWork.run(
    'settlement.reconcile.read',
    async (tx) => {
      const clearing = new Map<string, bigint>();
      for (let afterId = ''; ;) {
        const page = await tx.accounts.listAfter(afterId, globalReconciliationLimits.pageSize);
        for (const account of page) {
          if (account.kind !== AccountKind.Clearing) continue;
          clearing.set(`${account.ownerId}|${account.currency}`, account.balanceMinor);
        }
        const last = page[page.length - 1];
        if (last === undefined || page.length < globalReconciliationLimits.pageSize) break;
        afterId = last.id;
      }
      const records = cell.store.in(tx);
      const moneyEventsOut: CellView['moneyEventsOut'][number][] = [];
      for (let after = 0n; ;) {
        const page = await records.listOutboxAfter(
          moneyEventTypes,
          after,
          globalReconciliationLimits.pageSize,
        );
        for (const { event } of page) {
          moneyEventsOut.push({
            eventId: event.eventId,
            type: event.type,
            destinationCellId: event.destinationCellId,
            amountMinor: event.amountMinor,
            currency: event.currency,
          });
        }
        if (moneyEventsOut.length > globalReconciliationLimits.eventsReadMax) {
          throw new Error(
            `${cell.cellId}: more than ${globalReconciliationLimits.eventsReadMax} events`,
          );
        }
        const last = page[page.length - 1];
        if (last === undefined || page.length < globalReconciliationLimits.pageSize) break;
        after = last.sequence;
      }
      return { cellId: cell.cellId, clearing, moneyEventsOut };
    },
    { consistentSnapshot: true },
  );
}

async function reconcilePair(
  views: ReadonlyMap<string, CellView>,
  cells: readonly ReconciledCell[],
  a: string,
  b: string,
): Promise<PairReconciliation[]> {
  const viewA = views.get(a);
  const viewB = views.get(b);
  if (viewA === undefined || viewB === undefined) return [];
  const inFlight = [
    ...(await inFlightBetween(viewA, b, cells)),
    ...(await inFlightBetween(viewB, a, cells)),
  ];
  const currencies = new Set<string>();
  for (const key of [...viewA.clearing.keys(), ...viewB.clearing.keys()]) {
    const [owner, currency] = key.split('|');
    if ((owner === a || owner === b) && currency !== undefined) currencies.add(currency);
  }
  for (const event of inFlight) currencies.add(event.currency);
  return [...currencies].sort().map((currency) => {
    const clearingNet =
      (viewA.clearing.get(`${b}|${currency}`) ?? 0n) +
      (viewB.clearing.get(`${a}|${currency}`) ?? 0n);
    const mine = inFlight.filter((event) => event.currency === currency);
    const inFlightMinor = mine.reduce((sum, event) => sum + event.amountMinor, 0n);
    return {
      cellA: a,
      cellB: b,
      currency,
      clearingNetMinor: clearingNet.toString(),
      inFlightMinor: inFlightMinor.toString(),
      differenceMinor: (clearingNet - inFlightMinor).toString(),
      inFlightCount: mine.length,
      inFlight: mine.slice(0, globalReconciliationLimits.inFlightListedMax).map((event) => ({
        eventId: event.eventId,
        type: event.type,
        sourceCellId: event.sourceCellId,
        amountMinor: event.amountMinor.toString(),
      })),
    };
  });
}

/** The money events `source` wrote to `destination` that the destination's inbox does not hold. */
async function inFlightBetween(
  source: CellView,
  destination: string,
  cells: readonly ReconciledCell[],
): Promise<(CellView['moneyEventsOut'][number] & { readonly sourceCellId: string })[]> {
  const target = cells.find((cell) => cell.cellId === destination);
  if (target === undefined) return [];
  const sent = source.moneyEventsOut.filter((event) => event.destinationCellId === destination);
  const missing: (CellView['moneyEventsOut'][number] & { readonly sourceCellId: string })[] = [];
  for (let start = 0; start < sent.length; start += globalReconciliationLimits.pageSize) {
    const page = sent.slice(start, start + globalReconciliationLimits.pageSize);
    const held = await target.unitOfWork.run('settlement.reconcile.inbox', (tx) =>
      target.store.in(tx).inboxHolds(page.map((event) => event.eventId)),
    );
    for (const event of page) {
      if (!held.has(event.eventId)) missing.push({ ...event, sourceCellId: source.cellId });
    }
  }
  return missing;
}
