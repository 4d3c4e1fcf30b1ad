import type { CellTransaction } from '@cellpay/cell-domain';
import type { CurrencyCode } from '@cellpay/money';
import type { SettlementEvent, SettlementEventType } from '@cellpay/settlement-domain';

/** Which business record a saga row follows in the cell that started it. */
export type SagaKind = 'payment' | 'transfer' | 'refund';

/**
 * The state of one cross-cell saga in the cell that started it (the payer's cell): a payment or
 * transfer `settling` -> `settled`, a refund `pending` -> `succeeded` | `failed`.
 */
export interface SagaRecord {
  readonly sagaId: string;
  readonly kind: SagaKind;
  readonly state: string;
  readonly counterpartyCellId: string;
  /** Refunds: the payment refunded. */
  readonly paymentId?: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  /** Why a refund failed (the other cell's refusal), kept for the query API. */
  readonly reason?: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** An event the cell has applied (or refused), keyed by event ID: the dedup record. */
export interface InboxEntry {
  readonly eventId: string;
  readonly type: SettlementEventType;
  readonly sourceCellId: string;
  readonly sagaId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  /**
   * `applied`, `refused: <reason>` for a refund debit the merchant could not cover, or
   * `forwarded: <cell>` for an event passed on to the cell that owns its account now.
   */
  readonly outcome: string;
  readonly appliedAt: Date;
}

/** An outbox row as read back: the event and its position in the cell's publication order. */
export interface OutboxEntry {
  readonly sequence: bigint;
  readonly event: SettlementEvent;
  readonly published: boolean;
}

/** Settlement's tables of one shard, enlisted in a cell transaction. */
export interface SettlementRecords {
  appendOutbox(event: SettlementEvent): Promise<void>;
  /** Records the event as applied; false if it was recorded before (a redelivery). */
  claimInbox(entry: InboxEntry): Promise<boolean>;
  /** The inbox record of one event, if this cell has applied (or forwarded) it. */
  findInbox(eventId: string): Promise<InboxEntry | undefined>;
  insertSaga(saga: SagaRecord): Promise<void>;
  findSaga(sagaId: string): Promise<SagaRecord | undefined>;
  lockSaga(sagaId: string): Promise<SagaRecord | undefined>;
  updateSaga(saga: SagaRecord): Promise<void>;
  /** The sum of the pending cross-cell refunds of a payment (reserved against what was captured). */
  pendingRefundsOf(paymentId: string): Promise<bigint>;
  /** The outbox row of one event (the request of a saga step), by its event ID. */
  findOutboxEvent(eventId: string): Promise<OutboxEntry | undefined>;
  /** Unpublished outbox rows in sequence order, at most `limit`. */
  listUnpublished(limit: number): Promise<readonly OutboxEntry[]>;
  markPublished(sequences: readonly bigint[]): Promise<void>;
  countUnpublished(): Promise<number>;
  /** Outbox rows of the given types after `afterSequence`, in order, at most `limit`. */
  listOutboxAfter(
    types: readonly SettlementEventType[],
    afterSequence: bigint,
    limit: number,
  ): Promise<readonly OutboxEntry[]>;
  /** Of the given event IDs, those this cell's inbox holds. */
  inboxHolds(eventIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/** Gives the settlement tables of the shard a cell transaction runs on (MySQL or memory). */
export interface SettlementStore {
  in(tx: CellTransaction): SettlementRecords;
}
