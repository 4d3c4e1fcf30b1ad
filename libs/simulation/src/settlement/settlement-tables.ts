import type { CellTransaction } from '@cellpay/cell-domain';
import type { OutboxRow, OutboxSource } from '@cellpay/settlement-messaging';
import type { SettlementEvent } from '@cellpay/settlement-domain';

import type { SimProcess } from '../cell/sim-process';

function onRollback(tx: CellTransaction, undo: () => void): void {
  if (tx.handle.adapter !== 'memory') throw new Error('the simulator runs on the memory adapter');
  tx.handle.onRollback(undo);
}

interface StoredOutboxRow extends OutboxRow {
  published: boolean;
}

/**
 * The outbox table of one simulated shard: rows are written inside the shard transaction of the
 * money movement (and vanish with it on rollback), and survive any process crash. It stands in for
 * the real outbox until the shard side of settlement lands; the relay reads it through the real
 * `OutboxSource` port.
 */
export class SimOutboxTable {
  private readonly rows: StoredOutboxRow[] = [];
  private sequence = 0n;

  append(tx: CellTransaction, event: SettlementEvent): void {
    this.sequence += 1n;
    const row: StoredOutboxRow = { sequence: this.sequence, event, published: false };
    this.rows.push(row);
    onRollback(tx, () => {
      this.rows.splice(this.rows.indexOf(row), 1);
      this.sequence -= 1n;
    });
  }

  all(): readonly OutboxRow[] {
    return this.rows;
  }

  unpublishedCount(): number {
    return this.rows.filter((row) => !row.published).length;
  }

  /** The relay's view, through a process that may crash between publishing and marking. */
  sourceFor(relay: SimProcess): OutboxSource {
    return {
      fetchUnpublished: async (limit) => {
        relay.beforeStorageCall();
        return this.rows.filter((row) => !row.published).slice(0, limit);
      },
      markPublished: async (sequences) => {
        relay.beforeStorageCall();
        const marked = new Set(sequences);
        for (const row of this.rows) if (marked.has(row.sequence)) row.published = true;
      },
    };
  }
}

/** The inbox table of one simulated shard: event IDs applied, written in the applying transaction. */
export class SimInboxTable {
  private readonly eventIds = new Set<string>();

  has(eventId: string): boolean {
    return this.eventIds.has(eventId);
  }

  insert(tx: CellTransaction, eventId: string): void {
    if (this.eventIds.has(eventId)) return;
    this.eventIds.add(eventId);
    onRollback(tx, () => this.eventIds.delete(eventId));
  }
}
