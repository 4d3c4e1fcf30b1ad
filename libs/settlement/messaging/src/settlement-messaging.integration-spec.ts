import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';

import { createConsumer, createIdempotentProducer, createKafka } from '@cellpay/connections';
import { SettlementEventType, type SettlementEvent } from '@cellpay/settlement-domain';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { DeadLetterQueue } from './dead-letter-queue';
import {
  InboxConsumer,
  PermanentEventError,
  type ApplyOutcome,
  type EventApplier,
} from './inbox-consumer';
import { OutboxRelay, type OutboxRow, type OutboxSource } from './outbox-relay';
import { ensureSettlementTopics } from './topic-admin';

/** An in-memory outbox that can "crash" between publish and mark-published, once. */
class FakeOutbox implements OutboxSource {
  readonly rows: OutboxRow[] = [];
  private readonly published = new Set<bigint>();
  crashBeforeMarkOnce = false;

  async fetchUnpublished(limit: number): Promise<readonly OutboxRow[]> {
    return this.rows.filter((row) => !this.published.has(row.sequence)).slice(0, limit);
  }

  async markPublished(sequences: readonly bigint[]): Promise<void> {
    if (this.crashBeforeMarkOnce) {
      this.crashBeforeMarkOnce = false;
      throw new Error('relay killed after publish, before mark');
    }
    for (const sequence of sequences) this.published.add(sequence);
  }
}

/** An in-memory inbox: applies each event ID once and counts what it saw. */
class FakeInbox implements EventApplier {
  readonly applied = new Map<string, number>();
  delivered = 0;
  readonly order: string[] = [];
  poison = new Set<string>();
  transientFailuresLeft = new Map<string, number>();

  async apply(event: SettlementEvent): Promise<ApplyOutcome> {
    this.delivered += 1;
    const failures = this.transientFailuresLeft.get(event.eventId) ?? 0;
    if (failures > 0) {
      this.transientFailuresLeft.set(event.eventId, failures - 1);
      throw new Error('lock wait timeout (transient)');
    }
    if (this.poison.has(event.eventId)) {
      throw new PermanentEventError('account_not_found', `no account ${event.accountId}`);
    }
    if (this.applied.has(event.eventId)) return 'duplicate';
    this.applied.set(event.eventId, 1);
    this.order.push(event.eventId);
    return 'applied';
  }
}

const event = (sequence: number, accountId = `acc_0001_${sequence % 5}`): SettlementEvent => ({
  schemaVersion: 1,
  eventId: `evt_${sequence}`,
  type: SettlementEventType.CreditRequested,
  sourceCellId: 'cell-1',
  destinationCellId: 'cell-2',
  sagaId: `pay_${sequence}`,
  accountId,
  amountMinor: BigInt(100 + sequence),
  currency: 'CNY',
  createdAtMs: Date.now(),
  stress: false,
  requestId: `req-${sequence}`,
  attributes: {},
});

describe('settlement over real Kafka: relay, inbox consumer, dead letters', () => {
  const infra = readInfraEndpoints();
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    kafka = createKafka({ brokers: infra.kafka.brokers, clientId: 'settlement-test' });
    admin = kafka.admin();
    producer = createIdempotentProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.disconnect();
  });

  async function startConsumer(
    prefix: string,
    inbox: FakeInbox,
    beforeCommit?: () => Promise<void>,
  ) {
    const consumer = createConsumer(kafka, `${prefix}.inbox.cell-2`);
    consumers.push(consumer);
    await consumer.connect();
    await new InboxConsumer(consumer, producer, inbox, {
      cellId: 'cell-2',
      topicPrefix: prefix,
      backoff: { initialMs: 5, maxMs: 20 },
      ...(beforeCommit ? { beforeCommit } : {}),
    }).start();
    return consumer;
  }

  it('delivers every event exactly once in effect despite a relay and a consumer crash', async () => {
    const prefix = uniqueName('stl');
    await ensureSettlementTopics(admin, ['cell-1', 'cell-2'], prefix);
    const outbox = new FakeOutbox();
    for (let i = 0; i < 300; i++) outbox.rows.push({ sequence: BigInt(i), event: event(i) });
    const relay = new OutboxRelay(outbox, producer, {
      topicPrefix: prefix,
      batchSizeMax: 50,
      idleWaitMs: 5,
      backoff: { initialMs: 5, maxMs: 20 },
    });

    outbox.crashBeforeMarkOnce = true;
    await expect(relay.runOnce()).rejects.toThrow(/before mark/);
    while ((await relay.runOnce()) > 0) {
      // Publish the rest, batch by batch; the first batch goes out a second time.
    }

    const inbox = new FakeInbox();
    let crashes = 1;
    const first = await startConsumer(prefix, inbox, async () => {
      if (crashes-- > 0) throw new Error('consumer killed after apply, before commit');
    });
    await pollUntil(() => inbox.applied.size === 300, {
      timeoutMs: 60_000,
      description: '300 applied',
    });
    await first.disconnect();

    expect(inbox.delivered).toBeGreaterThan(300);
    expect([...inbox.applied.values()].every((times) => times === 1)).toBe(true);
    // Per account, events apply in outbox order.
    for (let account = 0; account < 5; account++) {
      const sequences = inbox.order
        .map((id) => Number(id.slice(4)))
        .filter((sequence) => sequence % 5 === account);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
  }, 120_000);

  it('retries a transiently failing event, dead-letters a poison one without blocking, replays after the fix', async () => {
    const prefix = uniqueName('stl');
    await ensureSettlementTopics(admin, ['cell-1', 'cell-2'], prefix);
    const outbox = new FakeOutbox();
    for (let i = 0; i < 20; i++)
      outbox.rows.push({ sequence: BigInt(i), event: event(i, 'acc_0001_same') });
    const relay = new OutboxRelay(outbox, producer, {
      topicPrefix: prefix,
      batchSizeMax: 100,
      idleWaitMs: 5,
      backoff: { initialMs: 5, maxMs: 20 },
    });
    await relay.runOnce();

    const inbox = new FakeInbox();
    inbox.poison.add('evt_7');
    inbox.transientFailuresLeft.set('evt_3', 3);
    await startConsumer(prefix, inbox);
    await pollUntil(() => inbox.applied.size === 19, {
      timeoutMs: 60_000,
      description: '19 applied',
    });
    expect(inbox.order).toEqual(
      Array.from({ length: 20 }, (_, i) => `evt_${i}`).filter((id) => id !== 'evt_7'),
    );

    const dlq = new DeadLetterQueue(kafka, producer, {
      cellId: 'cell-2',
      topicPrefix: prefix,
      batchMax: 100,
      readTimeoutMs: 30_000,
    });
    await pollUntil(async () => (await dlq.depth()) === 1, { timeoutMs: 10_000 });
    const [letter] = await dlq.pending();
    expect(letter).toMatchObject({ eventId: 'evt_7', attempts: 1 });
    expect(letter?.error).toMatch(/^account_not_found: no account/);

    inbox.poison.clear();
    expect(await dlq.replay()).toEqual({ replayed: 1 });
    await pollUntil(() => inbox.applied.has('evt_7'), {
      timeoutMs: 30_000,
      description: 'replayed',
    });
    expect(await dlq.depth()).toBe(0);
    expect(await dlq.replay()).toEqual({ replayed: 0 });
    expect(inbox.applied.get('evt_7')).toBe(1);
  }, 120_000);
});
