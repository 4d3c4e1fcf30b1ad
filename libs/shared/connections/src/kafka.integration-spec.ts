import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';

import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { createConsumer, createIdempotentProducer, createKafka, producerAcksAll } from './kafka';

describe('kafkajs against the real local KRaft broker', () => {
  const infra = readInfraEndpoints();
  const topic = uniqueName('probe');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;

  beforeAll(async () => {
    kafka = createKafka({ brokers: infra.kafka.brokers, clientId: 'connections-integration' });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
    });
    producer = createIdempotentProducer(kafka);
    consumer = createConsumer(kafka, uniqueName('probe-group'));
    await Promise.all([producer.connect(), consumer.connect()]);
  });

  afterAll(async () => {
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('refuses to auto-create a topic nobody created', async () => {
    await expect(
      producer.send({
        topic: uniqueName('never_created'),
        acks: producerAcksAll,
        messages: [{ value: 'x' }],
      }),
    ).rejects.toThrow();
  });

  it('produces with an idempotent producer and consumes the same messages back, in key order', async () => {
    const sent = Array.from({ length: 20 }, (_, i) => ({
      key: `account-${i % 3}`,
      value: JSON.stringify({ sequence: i, amountMinor: String(1000n + BigInt(i)) }),
      headers: { 'cellpay-event-id': `event-${i}` },
    }));
    const metadata = await producer.send({ topic, acks: producerAcksAll, messages: sent });
    expect(metadata.every((record) => record.errorCode === 0)).toBe(true);

    const received: { key: string; sequence: number; eventId: string }[] = [];
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachMessage: async ({ message }) => {
        const body = JSON.parse(message.value?.toString() ?? '{}') as { sequence: number };
        received.push({
          key: message.key?.toString() ?? '',
          sequence: body.sequence,
          eventId: message.headers?.['cellpay-event-id']?.toString() ?? '',
        });
      },
    });
    await pollUntil(() => received.length >= sent.length, {
      description: 'all produced messages consumed',
      timeoutMs: 30_000,
    });
    expect(received).toHaveLength(sent.length);
    expect(new Set(received.map((r) => r.eventId)).size).toBe(sent.length);
    // Messages with one key land on one partition, so each key's sequence arrives in order.
    for (const key of ['account-0', 'account-1', 'account-2']) {
      const sequences = received.filter((r) => r.key === key).map((r) => r.sequence);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
  });
});
