import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

import type { CellTransaction } from '@cellpay/cell-domain';
import type { CurrencyCode } from '@cellpay/money';
import {
  parseSettlementEvent,
  serializeSettlementEvent,
  type SettlementEventType,
} from '@cellpay/settlement-domain';

import type {
  InboxEntry,
  OutboxEntry,
  SagaKind,
  SagaRecord,
  SettlementRecords,
  SettlementStore,
} from '../settlement-records';
import { settlementTableSet } from './settlement-migrations';

const errorDuplicateEntry = 1062;

type QueryValue = string | number | Date | null | QueryValue[];

function sagaOf(row: RowDataPacket): SagaRecord {
  const paymentId = row['payment_id'] as string | null;
  const reason = row['reason'] as string | null;
  return {
    sagaId: String(row['saga_id']),
    kind: String(row['kind']) as SagaKind,
    state: String(row['state']),
    counterpartyCellId: String(row['counterparty_cell_id']),
    ...(paymentId === null ? {} : { paymentId }),
    amountMinor: BigInt(String(row['amount_minor'])),
    currency: String(row['currency']) as CurrencyCode,
    ...(reason === null ? {} : { reason }),
    createdAt: new Date(row['created_at'] as Date),
    updatedAt: new Date(row['updated_at'] as Date),
  };
}

function inboxOf(row: RowDataPacket): InboxEntry {
  return {
    eventId: String(row['event_id']),
    type: String(row['event_type']) as SettlementEventType,
    sourceCellId: String(row['source_cell_id']),
    sagaId: String(row['saga_id']),
    amountMinor: BigInt(String(row['amount_minor'])),
    currency: String(row['currency']),
    outcome: String(row['outcome']),
    appliedAt: new Date(row['applied_at'] as Date),
  };
}

function outboxOf(row: RowDataPacket): OutboxEntry {
  return {
    sequence: BigInt(String(row['sequence'])),
    event: parseSettlementEvent(String(row['event_json'])),
    published: Number(row['published']) === 1,
  };
}

/**
 * Settlement's tables on the MySQL shard, written on the cell transaction's own connection and in
 * its table set: a stress-traffic transaction (shadow cell tables) gets the shadow settlement tables.
 */
export class MysqlSettlementStore implements SettlementStore {
  in(tx: CellTransaction): SettlementRecords {
    if (tx.handle.adapter !== 'mysql') {
      throw new Error('MysqlSettlementStore needs a MySQL cell transaction');
    }
    const connection = tx.handle.connection as PoolConnection;
    const t = settlementTableSet(tx.handle.tablePrefix);
    const rows = async (sql: string, params: QueryValue[] = []): Promise<RowDataPacket[]> =>
      (await connection.query<RowDataPacket[]>(sql, params))[0];
    const write = async (sql: string, params: QueryValue[]): Promise<ResultSetHeader> =>
      (await connection.query<ResultSetHeader>(sql, params))[0];
    return {
      appendOutbox: async (event) => {
        await write(
          `INSERT INTO ${t.outbox} (event_id, event_type, destination_cell_id, event_json, created_at_ms)
           VALUES (?, ?, ?, ?, ?)`,
          [
            event.eventId,
            event.type,
            event.destinationCellId,
            serializeSettlementEvent(event),
            event.createdAtMs,
          ],
        );
      },
      claimInbox: async (entry) => {
        // A second delivery hits the primary key and changes nothing; a concurrent first delivery
        // waits on the key until the winner ends. (Not ON DUPLICATE KEY UPDATE: with the
        // client's FOUND_ROWS flag its affected-row count cannot tell a duplicate apart.)
        try {
          await write(
            `INSERT INTO ${t.inbox}
               (event_id, event_type, source_cell_id, saga_id, amount_minor, currency, outcome, applied_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              entry.eventId,
              entry.type,
              entry.sourceCellId,
              entry.sagaId,
              entry.amountMinor.toString(),
              entry.currency,
              entry.outcome.slice(0, 200),
              entry.appliedAt,
            ],
          );
          return true;
        } catch (error) {
          if ((error as { errno?: unknown } | null)?.errno === errorDuplicateEntry) return false;
          throw error;
        }
      },
      findInbox: async (eventId) => {
        const [row] = await rows(`SELECT * FROM ${t.inbox} WHERE event_id = ?`, [eventId]);
        return row === undefined ? undefined : inboxOf(row);
      },
      insertSaga: async (saga) => {
        await write(
          `INSERT INTO ${t.sagas} (saga_id, kind, state, counterparty_cell_id, payment_id,
             amount_minor, currency, reason, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            saga.sagaId,
            saga.kind,
            saga.state,
            saga.counterpartyCellId,
            saga.paymentId ?? null,
            saga.amountMinor.toString(),
            saga.currency,
            saga.reason ?? null,
            saga.createdAt,
            saga.updatedAt,
          ],
        );
      },
      findSaga: async (sagaId) => {
        const [row] = await rows(`SELECT * FROM ${t.sagas} WHERE saga_id = ?`, [sagaId]);
        return row === undefined ? undefined : sagaOf(row);
      },
      lockSaga: async (sagaId) => {
        const [row] = await rows(`SELECT * FROM ${t.sagas} WHERE saga_id = ? FOR UPDATE`, [sagaId]);
        return row === undefined ? undefined : sagaOf(row);
      },
      updateSaga: async (saga) => {
        await write(
          `UPDATE ${t.sagas} SET state = ?, reason = ?, updated_at = ? WHERE saga_id = ?`,
          [saga.state, saga.reason ?? null, saga.updatedAt, saga.sagaId],
        );
      },
      pendingRefundsOf: async (paymentId) => {
        const [row] = await rows(
          `SELECT COALESCE(SUM(amount_minor), 0) AS total FROM ${t.sagas}
           WHERE payment_id = ? AND state = 'pending'`,
          [paymentId],
        );
        return BigInt(String(row?.['total'] ?? '0'));
      },
      findOutboxEvent: async (eventId) => {
        const [row] = await rows(
          `SELECT sequence, event_json, published FROM ${t.outbox} WHERE event_id = ?`,
          [eventId],
        );
        return row === undefined ? undefined : outboxOf(row);
      },
      listUnpublished: async (limit) =>
        (
          await rows(
            `SELECT sequence, event_json, published FROM ${t.outbox}
             WHERE published = 0 ORDER BY sequence LIMIT ?`,
            [limit],
          )
        ).map(outboxOf),
      markPublished: async (sequences) => {
        if (sequences.length === 0) return;
        await write(
          `UPDATE ${t.outbox} SET published = 1, published_at = CURRENT_TIMESTAMP(3)
           WHERE sequence IN (?)`,
          [sequences.map((sequence) => sequence.toString())],
        );
      },
      countUnpublished: async () => {
        const [row] = await rows(`SELECT COUNT(*) AS n FROM ${t.outbox} WHERE published = 0`);
        return Number(row?.['n'] ?? 0);
      },
      listOutboxAfter: async (types, afterSequence, limit) =>
        (
          await rows(
            `SELECT sequence, event_json, published FROM ${t.outbox}
             WHERE event_type IN (?) AND sequence > ? ORDER BY sequence LIMIT ?`,
            [[...types], afterSequence.toString(), limit],
          )
        ).map(outboxOf),
      inboxHolds: async (eventIds) => {
        if (eventIds.length === 0) return new Set();
        const found = await rows(`SELECT event_id FROM ${t.inbox} WHERE event_id IN (?)`, [
          [...eventIds],
        ]);
        return new Set(found.map((row) => String(row['event_id'])));
      },
    };
  }
}
