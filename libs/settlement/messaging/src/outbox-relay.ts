import type { Message, Producer } from 'kafkajs';

import { producerAcksAll } from '@cellpay/connections';
import {
  inboundTopic,
  serializeSettlementEvent,
  settlementHeaders,
  type SettlementEvent,
} from '@cellpay/settlement-domain';

import { backoffMs, delay, type BackoffPolicy } from './backoff';

/** An outbox row: written in the same shard transaction as the money movement it announces. */
export interface OutboxRow {
  /** Increasing within a cell: the relay publishes in this order. */
  readonly sequence: bigint;
  readonly event: SettlementEvent;
}

/** The outbox of one cell's shard, as the relay sees it. */
export interface OutboxSource {
  fetchUnpublished(limit: number): Promise<readonly OutboxRow[]>;
  markPublished(sequences: readonly bigint[]): Promise<void>;
}

export interface OutboxRelayOptions {
  readonly topicPrefix: string;
  readonly batchSizeMax: number;
  /** How long to wait when the outbox is empty before looking again. */
  readonly idleWaitMs: number;
  readonly backoff: BackoffPolicy;
  readonly onError?: (error: unknown) => void;
  readonly onPublished?: (rows: readonly OutboxRow[]) => void;
}

export const outboxRelayDefaults: Omit<OutboxRelayOptions, 'topicPrefix'> = {
  batchSizeMax: 500,
  idleWaitMs: 20,
  backoff: { initialMs: 50, maxMs: 2_000 },
};

/**
 * Publishes a cell's outbox to Kafka: fetch a batch in sequence order, publish it with the
 * idempotent producer (acks from all in-sync replicas), then mark it published. A crash between
 * publish and mark re-publishes the batch after restart: duplicates are expected and the
 * destination's inbox absorbs them; a row is never marked before Kafka has it, so none is lost.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly source: OutboxSource,
    private readonly producer: Producer,
    private readonly options: OutboxRelayOptions,
  ) {}

  /** Publishes at most one batch; returns how many rows it published. */
  async runOnce(): Promise<number> {
    const rows = await this.source.fetchUnpublished(this.options.batchSizeMax);
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, Message[]>();
    for (const { event } of rows) {
      const topic = inboundTopic(event.destinationCellId, this.options.topicPrefix);
      const messages = byTopic.get(topic) ?? [];
      messages.push(toMessage(event));
      byTopic.set(topic, messages);
    }
    await this.producer.sendBatch({
      acks: producerAcksAll,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    await this.source.markPublished(rows.map((row) => row.sequence));
    this.options.onPublished?.(rows);
    return rows.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const published = await this.runOnce();
        failures = 0;
        if (published === 0) await delay(this.options.idleWaitMs);
      } catch (error) {
        this.options.onError?.(error);
        await delay(backoffMs(this.options.backoff, failures));
        failures += 1;
      }
    }
  }
}

export function toMessage(event: SettlementEvent): Message {
  return {
    key: event.accountId,
    value: serializeSettlementEvent(event),
    headers: {
      [settlementHeaders.eventId]: event.eventId,
      [settlementHeaders.eventType]: event.type,
      [settlementHeaders.schemaVersion]: String(event.schemaVersion),
      [settlementHeaders.requestId]: event.requestId,
      [settlementHeaders.stress]: event.stress ? '1' : '0',
    },
  };
}
