import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';

import { producerAcksAll } from '@cellpay/connections';
import {
  isValidRequestId,
  type RequestContext,
  runInRequestContext,
  stressMarkOf,
} from '@cellpay/observability';
import {
  deadLetterTopic,
  inboundTopic,
  parseSettlementEvent,
  settlementHeaders,
  type SettlementEvent,
} from '@cellpay/settlement-domain';

import { backoffMs, delay, type BackoffPolicy } from './backoff';

/**
 * `forwarded`: the event was passed on, exactly once, to the cell that owns its account now (the
 * account's slot moved away); the effect happens there.
 */
export type ApplyOutcome = 'applied' | 'duplicate' | 'forwarded';

/**
 * Applies one event in the destination cell: the effect and the inbox row (keyed by event ID) in
 * one local transaction, so a redelivered event reports `duplicate` and changes nothing.
 */
export interface EventApplier {
  apply(event: SettlementEvent): Promise<ApplyOutcome>;
}

/**
 * An event that can never apply as it is (unknown account, currency mismatch, malformed): retrying
 * will not help, so it goes to the dead-letter topic and the partition moves on.
 */
export class PermanentEventError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentEventError';
  }
}

export interface InboxConsumerOptions {
  readonly cellId: string;
  readonly topicPrefix: string;
  /** Backoff between attempts at a transiently failing event (database away, lock timeout). */
  readonly backoff: BackoffPolicy;
  readonly nowMs?: () => number;
  readonly onApplied?: (event: SettlementEvent, outcome: ApplyOutcome, lagMs: number) => void;
  readonly onDeadLetter?: (reason: string, message: KafkaMessage) => void;
  readonly onError?: (error: unknown) => void;
  /**
   * Partitions applied at once. Order holds within a partition (per account); partitions are
   * independent, so several of them overlap their shard transactions.
   */
  readonly partitionsConcurrentMax?: number;
  /** Test seam: runs after events were applied and before their offsets are committed. */
  readonly beforeCommit?: () => Promise<void>;
}

export const inboxConsumerDefaults = {
  backoff: { initialMs: 50, maxMs: 5_000 },
  /** One per partition of an inbound topic (`inboundTopicConfig.numPartitions`). */
  partitionsConcurrentMax: 6,
} as const;

function headerText(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * The request context of an event from its Kafka headers. The stress header must agree with the
 * event's own mark (a disagreement means the message was altered or built wrongly: applying it
 * could mix shadow and real money, so it is dead-lettered); a message without headers (built by
 * hand, replayed by an older tool) takes the event's own mark and request ID.
 */
export function requestContextOf(message: KafkaMessage, event: SettlementEvent): RequestContext {
  const stressHeader = headerText(message, settlementHeaders.stress);
  const stress = stressHeader === undefined ? event.stress : stressMarkOf(stressHeader);
  if (stress !== event.stress) {
    throw new PermanentEventError(
      'stress_mark_mismatch',
      `header ${settlementHeaders.stress}=${String(stressHeader)} but the event says stress=${event.stress}`,
    );
  }
  const requestId = headerText(message, settlementHeaders.requestId);
  return {
    requestId: requestId !== undefined && isValidRequestId(requestId) ? requestId : event.requestId,
    stress,
  };
}

/**
 * Consumes a cell's inbound settlement topic. Offsets are committed only after the events they
 * cover were applied (or dead-lettered), so a crash anywhere redelivers rather than loses; the inbox
 * makes redelivery harmless. A transiently failing event is retried with bounded backoff for as long
 * as the consumer runs, holding its partition (order per account is kept); a poison event is moved
 * to the dead-letter topic with its error and does not block the events behind it.
 */
export class InboxConsumer {
  constructor(
    private readonly consumer: Consumer,
    private readonly producer: Producer,
    private readonly applier: EventApplier,
    private readonly options: InboxConsumerOptions,
  ) {}

  async start(): Promise<void> {
    await this.consumer.subscribe({
      topic: inboundTopic(this.options.cellId, this.options.topicPrefix),
      fromBeginning: true,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently:
        this.options.partitionsConcurrentMax ?? inboxConsumerDefaults.partitionsConcurrentMax,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    let lastDone: string | undefined;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      const done = await this.handleMessage(message, batch.topic, payload);
      if (!done) break;
      payload.resolveOffset(message.offset);
      lastDone = message.offset;
      await payload.heartbeat();
    }
    if (lastDone === undefined) return;
    await this.options.beforeCommit?.();
    await this.consumer.commitOffsets([
      {
        topic: batch.topic,
        partition: batch.partition,
        offset: (BigInt(lastDone) + 1n).toString(),
      },
    ]);
  }

  /** True once the message is applied, found duplicate, or dead-lettered; false if stopping. */
  private async handleMessage(
    message: KafkaMessage,
    topic: string,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    let event: SettlementEvent;
    try {
      event = parseSettlementEvent(message.value?.toString('utf8') ?? '');
      if (event.destinationCellId !== this.options.cellId) {
        throw new PermanentEventError(
          'misrouted',
          `event for ${event.destinationCellId} arrived at ${this.options.cellId}`,
        );
      }
    } catch (error) {
      await this.deadLetter(message, topic, error, 1);
      return true;
    }
    let context: RequestContext;
    try {
      context = requestContextOf(message, event);
    } catch (error) {
      await this.deadLetter(message, topic, error, 1);
      return true;
    }
    // Every attempt, and every log line about it, runs in the request's context: stress events
    // apply to the shadow tables, and the request ID set at the gateway reaches this cell's logs.
    return runInRequestContext(context, () =>
      this.applyWithRetries(event, message, topic, payload),
    );
  }

  private async applyWithRetries(
    event: SettlementEvent,
    message: KafkaMessage,
    topic: string,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await this.applier.apply(event);
        const nowMs = (this.options.nowMs ?? Date.now)();
        this.options.onApplied?.(event, outcome, Math.max(0, nowMs - event.createdAtMs));
        return true;
      } catch (error) {
        if (error instanceof PermanentEventError) {
          await this.deadLetter(message, topic, error, attempt + 1);
          return true;
        }
        this.options.onError?.(error);
        if (!payload.isRunning() || payload.isStale()) return false;
        await delay(backoffMs(this.options.backoff, attempt));
        await payload.heartbeat();
      }
    }
  }

  private async deadLetter(
    message: KafkaMessage,
    topic: string,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const reason = error instanceof PermanentEventError ? error.reason : 'malformed';
    const text = error instanceof Error ? error.message : String(error);
    await this.producer.send({
      topic: deadLetterTopic(this.options.cellId, this.options.topicPrefix),
      acks: producerAcksAll,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            [settlementHeaders.error]: `${reason}: ${text}`.slice(0, 1_000),
            [settlementHeaders.attempts]: String(attempts),
            [settlementHeaders.originalTopic]: topic,
          },
        },
      ],
    });
    this.options.onDeadLetter?.(reason, message);
  }
}
