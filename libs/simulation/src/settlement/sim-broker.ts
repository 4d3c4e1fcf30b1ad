import type {
  Batch,
  Consumer,
  ConsumerRunConfig,
  ConsumerSubscribeTopic,
  ConsumerSubscribeTopics,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  Message,
  Producer,
  ProducerBatch,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffsetAndMetadata,
} from 'kafkajs';

import type { SimProcess } from '../cell/sim-process';
import type { SeededRandom } from '../world/seeded-random';
import type { VirtualScheduler } from '../world/virtual-scheduler';

/** Partitions of every simulated topic; few, so that per-partition order matters often. */
export const simPartitionCount = 3;
/** Messages handed to a consumer in one batch. */
export const simConsumerBatchSizeMax = 8;

interface StoredMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: IHeaders;
}

/** The faults of the simulated event bus; probabilities per publish or per delivery. */
export interface BusFaults {
  /** The batch never reaches the broker; the relay sees an error and does not mark the rows. */
  readonly publishLostProbability: number;
  /** The broker appends the batch but the acknowledgement is lost: the relay publishes it again. */
  readonly ackLostProbability: number;
  /** The broker appends every message of the batch twice. */
  readonly duplicateProbability: number;
  /** Upper bound of the delay before a batch is appended; batches may overtake each other. */
  readonly appendDelayMsMax: number;
}

export const quietBus: BusFaults = {
  publishLostProbability: 0,
  ackLostProbability: 0,
  duplicateProbability: 0,
  appendDelayMsMax: 0,
};

function partitionOf(key: string): number {
  let hash = 0;
  for (let index = 0; index < key.length; index++) {
    hash = (Math.imul(hash, 31) + key.charCodeAt(index)) >>> 0;
  }
  return hash % simPartitionCount;
}

function text(value: Buffer | string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : value.toString('utf8');
}

/**
 * A simulated Kafka: topics of a few ordered partitions, consumer-group offsets, and the faults of
 * the issue (delay, reordering of batches, duplication, loss before the outbox marks a row sent).
 * Order inside a partition is kept once appended, as Kafka keeps it; the consumer's offset commits
 * rely on that.
 */
export class SimBroker {
  private readonly logs = new Map<string, StoredMessage[][]>();
  private readonly committed = new Map<string, number>();
  private appendsInFlight = 0;
  faults: BusFaults = quietBus;
  stats = { published: 0, lost: 0, ackLost: 0, duplicated: 0, delivered: 0 };

  constructor(
    private readonly scheduler: VirtualScheduler,
    private readonly random: SeededRandom,
    /** Where the broker tells the trace about the faults it injects. */
    private readonly note: (line: string) => void = () => undefined,
  ) {}

  partitions(topic: string): StoredMessage[][] {
    let log = this.logs.get(topic);
    if (log === undefined) {
      log = Array.from({ length: simPartitionCount }, (): StoredMessage[] => []);
      this.logs.set(topic, log);
    }
    return log;
  }

  committedOffset(group: string, topic: string, partition: number): number {
    return this.committed.get(`${group}|${topic}|${partition}`) ?? 0;
  }

  commit(group: string, topic: string, partition: number, offset: number): void {
    this.committed.set(`${group}|${topic}|${partition}`, offset);
  }

  /** Messages not yet committed by the group, plus batches still on their way to the broker. */
  backlog(group: string, topic: string): number {
    const partitions = this.partitions(topic);
    let behind = this.appendsInFlight;
    partitions.forEach((log, partition) => {
      behind += log.length - this.committedOffset(group, topic, partition);
    });
    return behind;
  }

  /** The producer's side: what the relay's `sendBatch` and the dead-letter `send` reach. */
  producer(): Producer {
    const publish = async (topicMessages: readonly ProducerRecord[]): Promise<RecordMetadata[]> => {
      const faults = this.faults;
      if (this.random.chance(faults.publishLostProbability)) {
        this.stats.lost += 1;
        this.note('bus: batch lost before reaching the broker');
        throw new Error('publish timed out: the broker never received the batch');
      }
      const duplicated = this.random.chance(faults.duplicateProbability);
      const delayMs = faults.appendDelayMsMax > 0 ? this.random.int(faults.appendDelayMsMax) : 0;
      const records = topicMessages.map(({ topic, messages }) => ({ topic, messages }));
      const append = (): void => {
        for (const { topic, messages } of records) {
          for (const message of messages) this.append(topic, message, duplicated ? 2 : 1);
        }
      };
      if (delayMs === 0) append();
      else {
        this.appendsInFlight += 1;
        this.scheduler.after(delayMs, 'bus.append', () => {
          this.appendsInFlight -= 1;
          append();
        });
      }
      if (duplicated) {
        this.stats.duplicated += 1;
        this.note('bus: batch appended twice');
      }
      if (delayMs > 0) this.note(`bus: batch appended after ${delayMs}ms`);
      if (this.random.chance(faults.ackLostProbability)) {
        this.stats.ackLost += 1;
        this.note('bus: acknowledgement lost');
        throw new Error('publish acknowledgement lost');
      }
      return [];
    };
    const producer: Pick<Producer, 'send' | 'sendBatch'> = {
      send: (record: ProducerRecord) => publish([record]),
      sendBatch: (batch: ProducerBatch) => publish(batch.topicMessages ?? []),
    };
    return producer as Producer;
  }

  private append(topic: string, message: Message, copies: number): void {
    const key = text(message.key);
    const log = this.partitions(topic)[partitionOf(key)];
    if (log === undefined) throw new Error(`no partition for ${key}`);
    for (let copy = 0; copy < copies; copy++) {
      log.push({ key, value: text(message.value), headers: message.headers ?? {} });
      this.stats.published += 1;
    }
  }

  consumer(group: string, process: SimProcess): SimConsumer {
    return new SimConsumer(this, group, process, this.random);
  }
}

/**
 * One incarnation of a consumer-group member: the real `InboxConsumer` subscribes and runs on it;
 * the scheduler calls `deliverOnce` to hand it a batch. It fetches from the group's committed
 * offsets when it starts, so a crash before a commit redelivers.
 */
export class SimConsumer implements Pick<Consumer, 'subscribe' | 'run' | 'commitOffsets'> {
  private topic: string | undefined;
  private eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  private readonly positions = new Map<number, number>();

  constructor(
    private readonly broker: SimBroker,
    private readonly group: string,
    private readonly process: SimProcess,
    private readonly random: SeededRandom,
  ) {}

  async subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
    const topic = 'topic' in subscription ? subscription.topic : subscription.topics[0];
    if (typeof topic !== 'string') throw new Error('the simulated consumer takes one topic name');
    this.topic = topic;
  }

  async run(config?: ConsumerRunConfig): Promise<void> {
    this.eachBatch = config?.eachBatch;
  }

  async commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    // A dead process commits nothing: this is what makes redelivery after a crash happen.
    if (!this.process.up) throw new Error(`${this.process.name} is down`);
    for (const { topic, partition, offset } of offsets) {
      this.broker.commit(this.group, topic, partition, Number(offset));
    }
  }

  /** Delivers one batch from one partition with pending messages; false if there was none. */
  async deliverOnce(): Promise<boolean> {
    const topic = this.topic;
    const eachBatch = this.eachBatch;
    if (topic === undefined || eachBatch === undefined || !this.process.up) return false;
    const partitions = this.broker.partitions(topic);
    const ready = partitions
      .map((log, partition) => ({ log, partition, from: this.position(topic, partition) }))
      .filter(({ log, from }) => from < log.length);
    if (ready.length === 0) return false;
    // Which partition goes first is the seed's choice: events of different accounts interleave.
    const { log, partition, from } = this.random.pick(ready);
    const messages = log.slice(from, from + simConsumerBatchSizeMax).map(
      (stored, index): KafkaMessage =>
        ({
          key: Buffer.from(stored.key),
          value: Buffer.from(stored.value),
          headers: stored.headers,
          timestamp: '0',
          attributes: 0,
          offset: String(from + index),
        }) as KafkaMessage,
    );
    let resolved = from - 1;
    const lastOffset = String(from + messages.length - 1);
    const batch: Batch = {
      topic,
      partition,
      highWatermark: String(log.length),
      messages,
      isEmpty: () => messages.length === 0,
      firstOffset: () => String(from),
      lastOffset: () => lastOffset,
      offsetLag: () => String(log.length - from - messages.length),
      offsetLagLow: () => String(log.length - from),
    };
    const payload: EachBatchPayload = {
      batch,
      resolveOffset: (offset) => {
        resolved = Math.max(resolved, Number(offset));
      },
      heartbeat: async () => undefined,
      pause: () => () => undefined,
      commitOffsetsIfNecessary: async () => undefined,
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => this.process.up,
      isStale: () => false,
    };
    this.broker.stats.delivered += messages.length;
    try {
      await eachBatch(payload);
    } catch {
      // The member died in the middle of the batch (its commit was refused): nothing to do here.
    }
    if (this.process.up) this.positions.set(partition, resolved + 1);
    return true;
  }

  private position(topic: string, partition: number): number {
    return (
      this.positions.get(partition) ?? this.broker.committedOffset(this.group, topic, partition)
    );
  }
}
