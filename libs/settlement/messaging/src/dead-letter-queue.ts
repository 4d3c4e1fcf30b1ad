import type { Kafka, KafkaMessage, Producer } from 'kafkajs';

import { producerAcksAll } from '@cellpay/connections';
import { deadLetterTopic, settlementHeaders } from '@cellpay/settlement-domain';

export interface DeadLetter {
  readonly offset: string;
  readonly eventId: string;
  readonly error: string;
  readonly attempts: number;
  readonly originalTopic: string;
  readonly message: KafkaMessage;
}

export interface DeadLetterQueueOptions {
  readonly cellId: string;
  readonly topicPrefix: string;
  /** Upper bound on dead letters read or replayed in one call. */
  readonly batchMax: number;
  /** Upper bound on how long one read may take. */
  readonly readTimeoutMs: number;
}

const header = (message: KafkaMessage, name: string): string =>
  message.headers?.[name]?.toString() ?? '';

/**
 * The dead letters of one cell. "Pending" means not yet replayed: a consumer group of its own
 * remembers how far replay got, so listing never consumes anything and a replay is recorded only
 * after every replayed event is back on its inbound topic. Replay is idempotent downstream: the
 * inbox applies an event once however many times it arrives.
 */
export class DeadLetterQueue {
  private readonly topic: string;
  private readonly replayGroup: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly options: DeadLetterQueueOptions,
  ) {
    this.topic = deadLetterTopic(options.cellId, options.topicPrefix);
    this.replayGroup = `${options.topicPrefix}.dead-letter-replay.${options.cellId}`;
  }

  /** How many dead letters wait for replay (the gauge behind the DLQ alert). */
  async depth(): Promise<number> {
    const { from, to } = await this.range();
    return Number(to - from);
  }

  async pending(): Promise<DeadLetter[]> {
    const { from, to } = await this.range();
    return this.read(from, to);
  }

  async replay(): Promise<{ readonly replayed: number }> {
    const { from, to } = await this.range();
    const letters = await this.read(from, to);
    for (const letter of letters) {
      const headers = { ...letter.message.headers };
      delete headers[settlementHeaders.error];
      delete headers[settlementHeaders.attempts];
      delete headers[settlementHeaders.originalTopic];
      await this.producer.send({
        topic: letter.originalTopic,
        acks: producerAcksAll,
        messages: [{ key: letter.message.key, value: letter.message.value, headers }],
      });
    }
    const last = letters[letters.length - 1];
    if (last !== undefined) {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        await admin.setOffsets({
          groupId: this.replayGroup,
          topic: this.topic,
          partitions: [{ partition: 0, offset: (BigInt(last.offset) + 1n).toString() }],
        });
      } finally {
        await admin.disconnect();
      }
    }
    return { replayed: letters.length };
  }

  private async range(): Promise<{ from: bigint; to: bigint }> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const [ends] = await admin
        .fetchTopicOffsets(this.topic)
        .then((o) => [o.find((p) => p.partition === 0)]);
      const [group] = await admin.fetchOffsets({ groupId: this.replayGroup, topics: [this.topic] });
      const committed = group?.partitions.find((p) => p.partition === 0)?.offset ?? '-1';
      const low = BigInt(ends?.low ?? '0');
      const high = BigInt(ends?.high ?? '0');
      const from = committed === '-1' ? low : BigInt(committed) > low ? BigInt(committed) : low;
      const to =
        from + BigInt(this.options.batchMax) < high ? from + BigInt(this.options.batchMax) : high;
      return { from, to };
    } finally {
      await admin.disconnect();
    }
  }

  /** Reads offsets [from, to) of the single dead-letter partition with a throwaway consumer. */
  private async read(from: bigint, to: bigint): Promise<DeadLetter[]> {
    if (to <= from) return [];
    const consumer = this.kafka.consumer({
      groupId: `${this.replayGroup}.reader.${process.pid}.${Date.now()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
    });
    const letters: DeadLetter[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const offset = BigInt(message.offset);
          if (offset >= from && offset < to) {
            letters.push({
              offset: message.offset,
              eventId: header(message, settlementHeaders.eventId),
              error: header(message, settlementHeaders.error),
              attempts: Number(header(message, settlementHeaders.attempts) || '0'),
              originalTopic: header(message, settlementHeaders.originalTopic),
              message,
            });
          }
          if (offset >= to - 1n) finish();
        },
      });
      consumer.seek({ topic: this.topic, partition: 0, offset: from.toString() });
      const timeout = new Promise<void>((_, reject) =>
        setTimeout(
          () => reject(new Error(`dead letters: read of ${this.topic} timed out`)),
          this.options.readTimeoutMs,
        ).unref(),
      );
      await Promise.race([finished, timeout]);
    } finally {
      await consumer.disconnect();
    }
    return letters;
  }
}
