import type { CellTransaction, TransactionHandle } from '@cellpay/cell-domain';

import type {
  InboxEntry,
  OutboxEntry,
  SagaRecord,
  SettlementRecords,
  SettlementStore,
} from '../settlement-records';

/**
 * Settlement's tables for one in-memory cell: the live set and the shadow set of stress traffic,
 * chosen by the cell transaction they enlist in (so the outbox row lands beside the journals).
 */
export class MemorySettlementStore implements SettlementStore {
  private readonly live = new MemorySettlementTables();
  private readonly shadow = new MemorySettlementTables();

  /** The live tables as of now, for the simulator's invariants, which read between transactions. */
  outboxRows(): readonly OutboxEntry[] {
    return this.live.outboxRows();
  }

  unpublishedCount(): number {
    return this.live.outboxRows().filter((row) => !row.published).length;
  }

  hasApplied(eventId: string): boolean {
    return this.live.hasApplied(eventId);
  }

  in(tx: CellTransaction): SettlementRecords {
    const handle = tx.handle;
    if (handle.adapter !== 'memory') {
      throw new Error('MemorySettlementStore needs an in-memory cell transaction');
    }
    return (handle.shadow ? this.shadow : this.live).in(handle);
  }
}

/**
 * One set of settlement tables in memory. Every write registers its undo with the cell
 * transaction, so a rolled-back unit of work leaves no outbox, inbox or saga trace.
 */
class MemorySettlementTables {
  private readonly outbox: OutboxEntry[] = [];
  private readonly outboxIds = new Set<string>();
  private readonly inbox = new Map<string, InboxEntry>();
  private readonly sagas = new Map<string, SagaRecord>();
  private nextSequence = 1n;

  outboxRows(): readonly OutboxEntry[] {
    return this.outbox;
  }

  hasApplied(eventId: string): boolean {
    return this.inbox.has(eventId);
  }

  in(handle: Extract<TransactionHandle, { adapter: 'memory' }>): SettlementRecords {
    const putSaga = (saga: SagaRecord): void => {
      const previous = this.sagas.get(saga.sagaId);
      this.sagas.set(saga.sagaId, saga);
      handle.onRollback(() => {
        if (previous === undefined) this.sagas.delete(saga.sagaId);
        else this.sagas.set(saga.sagaId, previous);
      });
    };
    return {
      appendOutbox: async (event) => {
        if (this.outboxIds.has(event.eventId)) throw new Error(`duplicate event ${event.eventId}`);
        this.outbox.push({ sequence: this.nextSequence, event, published: false });
        this.outboxIds.add(event.eventId);
        this.nextSequence += 1n;
        handle.onRollback(() => {
          this.outbox.pop();
          this.outboxIds.delete(event.eventId);
          this.nextSequence -= 1n;
        });
      },
      claimInbox: async (entry) => {
        if (this.inbox.has(entry.eventId)) return false;
        this.inbox.set(entry.eventId, entry);
        handle.onRollback(() => this.inbox.delete(entry.eventId));
        return true;
      },
      findInbox: async (eventId) => this.inbox.get(eventId),
      insertSaga: async (saga) => {
        if (this.sagas.has(saga.sagaId)) throw new Error(`duplicate saga ${saga.sagaId}`);
        putSaga(saga);
      },
      findSaga: async (sagaId) => this.sagas.get(sagaId),
      lockSaga: async (sagaId) => this.sagas.get(sagaId),
      updateSaga: async (saga) => putSaga(saga),
      pendingRefundsOf: async (paymentId) =>
        [...this.sagas.values()]
          .filter((saga) => saga.paymentId === paymentId && saga.state === 'pending')
          .reduce((sum, saga) => sum + saga.amountMinor, 0n),
      findOutboxEvent: async (eventId) => this.outbox.find((row) => row.event.eventId === eventId),
      listUnpublished: async (limit) => this.outbox.filter((row) => !row.published).slice(0, limit),
      markPublished: async (sequences) => {
        const wanted = new Set(sequences);
        this.outbox.forEach((row, index) => {
          if (!wanted.has(row.sequence) || row.published) return;
          this.outbox[index] = { ...row, published: true };
          handle.onRollback(() => (this.outbox[index] = row));
        });
      },
      countUnpublished: async () => this.outbox.filter((row) => !row.published).length,
      listOutboxAfter: async (types, afterSequence, limit) =>
        this.outbox
          .filter((row) => row.sequence > afterSequence && types.includes(row.event.type))
          .slice(0, limit),
      inboxHolds: async (eventIds) => new Set(eventIds.filter((id) => this.inbox.has(id))),
    };
  }
}
