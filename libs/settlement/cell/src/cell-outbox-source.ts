import type { CellTransaction, UnitOfWork } from '@cellpay/cell-domain';
import { runInRequestContext } from '@cellpay/observability';
import type { OutboxRow, OutboxSource } from '@cellpay/settlement-messaging';

import type { SettlementStore } from './settlement-records';

/**
 * Whether this relay replica may publish now. Two replicas of one cell must never publish
 * concurrently (they would interleave and break per-account order); see `MysqlRelayLeaderLock`.
 */
export interface RelayLeadership {
  /** True if this replica holds (or has just taken) the cell's relay lock. */
  holds(): Promise<boolean>;
}

export const alwaysLeader: RelayLeadership = { holds: async () => true };

/** What pauses the relay: the `cross_cell_payments_paused` switch. Payers keep paying. */
export interface RelayPause {
  isPaused(): boolean;
}

export const neverPaused: RelayPause = { isPaused: () => false };

/** Which outbox of the shard a source reads: the live one, or the shadow one of stress traffic. */
export type OutboxTables = 'live' | 'shadow';

/**
 * A cell's outbox as the relay sees it. Reads and marks run as units of work of the cell, so the
 * relay only ever sees committed rows (in memory too, where units of work run one at a time). A
 * shadow source runs its units in a stress context, so they read and mark the shadow outbox; the
 * events it yields carry `stress: true`, which the relay turns into the Kafka stress header.
 */
export class CellOutboxSource implements OutboxSource {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly store: SettlementStore,
    private readonly leadership: RelayLeadership = alwaysLeader,
    private readonly pause: RelayPause = neverPaused,
    private readonly tables: OutboxTables = 'live',
  ) {}

  async fetchUnpublished(limit: number): Promise<readonly OutboxRow[]> {
    if (this.pause.isPaused() || !(await this.leadership.holds())) return [];
    const rows = await this.run('settlement.outbox.fetch', (tx) =>
      this.store.in(tx).listUnpublished(limit),
    );
    return rows.map(({ sequence, event }) => ({ sequence, event }));
  }

  async markPublished(sequences: readonly bigint[]): Promise<void> {
    await this.run('settlement.outbox.mark', (tx) => this.store.in(tx).markPublished(sequences));
  }

  /** Rows written and not yet published: the `cellpay_outbox_depth` gauge. */
  depth(): Promise<number> {
    return this.run('settlement.outbox.depth', (tx) => this.store.in(tx).countUnpublished());
  }

  private run<T>(operation: string, work: (tx: CellTransaction) => Promise<T>): Promise<T> {
    if (this.tables === 'live') return this.unitOfWork.run(operation, work);
    return runInRequestContext({ requestId: 'relay-shadow-outbox', stress: true }, () =>
      this.unitOfWork.run(operation, work),
    );
  }
}
