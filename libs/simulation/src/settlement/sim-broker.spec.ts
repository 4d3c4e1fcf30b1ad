import type { EachBatchPayload } from 'kafkajs';

import { MemoryCellStore } from '@cellpay/cell-data-access';
import { inboundTopic, SettlementEventType } from '@cellpay/settlement-domain';
import { OutboxRelay } from '@cellpay/settlement-messaging';

import { CellOutboxSource, MemorySettlementStore } from '@cellpay/settlement-cell';

import { SimProcess } from '../cell/sim-process';
import { SeededRandom } from '../world/seeded-random';
import { VirtualScheduler } from '../world/virtual-scheduler';
import { quietBus, SimBroker } from './sim-broker';

const topic = inboundTopic('cell-2', 'test');

/** A shard with one credit request in its (real, in-memory) settlement outbox. */
interface Outbox {
  readonly shard: MemoryCellStore;
  readonly tables: MemorySettlementStore;
  unpublishedCount(): number;
}

async function outboxWithOneEvent(): Promise<Outbox> {
  const shard = new MemoryCellStore();
  const tables = new MemorySettlementStore();
  await shard.run('write', async (tx) =>
    tables.in(tx).appendOutbox({
      schemaVersion: 1,
      eventId: 'trf_0001A.credit',
      type: SettlementEventType.CreditRequested,
      sourceCellId: 'cell-1',
      destinationCellId: 'cell-2',
      sagaId: 'trf_0001A',
      accountId: 'acc_0002B',
      amountMinor: 100n,
      currency: 'CNY',
      createdAtMs: 1,
      stress: false,
      requestId: 'r1',
      attributes: {},
    }),
  );
  return { shard, tables, unpublishedCount: () => tables.unpublishedCount() };
}

function relayOver(outbox: Outbox, broker: SimBroker): OutboxRelay {
  return new OutboxRelay(new CellOutboxSource(outbox.shard, outbox.tables), broker.producer(), {
    topicPrefix: 'test',
    batchSizeMax: 10,
    idleWaitMs: 0,
    backoff: { initialMs: 1, maxMs: 1 },
  });
}

describe('SimBroker', () => {
  it('a lost acknowledgement leaves the row unmarked, so the relay publishes it twice', async () => {
    const broker = new SimBroker(new VirtualScheduler(), new SeededRandom(1));
    const outbox = await outboxWithOneEvent();
    const relay = relayOver(outbox, broker);
    broker.faults = { ...quietBus, ackLostProbability: 1 };
    await expect(relay.runOnce()).rejects.toThrow(/acknowledgement lost/);
    expect(outbox.unpublishedCount()).toBe(1);
    broker.faults = quietBus;
    expect(await relay.runOnce()).toBe(1);
    expect(outbox.unpublishedCount()).toBe(0);
    expect(broker.partitions(topic).flat()).toHaveLength(2);
  });

  it('a lost publish reaches nobody and the row waits for the next attempt', async () => {
    const broker = new SimBroker(new VirtualScheduler(), new SeededRandom(1));
    const outbox = await outboxWithOneEvent();
    broker.faults = { ...quietBus, publishLostProbability: 1 };
    await expect(relayOver(outbox, broker).runOnce()).rejects.toThrow(/never received/);
    expect(broker.partitions(topic).flat()).toHaveLength(0);
    expect(outbox.unpublishedCount()).toBe(1);
  });

  it('redelivers to the next member what a crashed member never committed', async () => {
    const broker = new SimBroker(new VirtualScheduler(), new SeededRandom(1));
    const outbox = await outboxWithOneEvent();
    await relayOver(outbox, broker).runOnce();
    const seen: string[] = [];
    const member = new SimProcess('cell-2/consumer');
    member.boot();
    const first = broker.consumer('group', member);
    await first.subscribe({ topic });
    await first.run({
      eachBatch: async (payload: EachBatchPayload) => {
        seen.push(`first ${payload.batch.messages.length}`);
        member.crash();
        await first.commitOffsets([{ topic, partition: payload.batch.partition, offset: '1' }]);
      },
    });
    expect(await first.deliverOnce()).toBe(true);
    expect(broker.backlog('group', topic)).toBe(1);
    member.boot();
    const second = broker.consumer('group', member);
    await second.subscribe({ topic });
    await second.run({
      eachBatch: async (payload: EachBatchPayload) => {
        seen.push(`second ${payload.batch.messages.length}`);
        payload.resolveOffset(payload.batch.lastOffset());
        await second.commitOffsets([{ topic, partition: payload.batch.partition, offset: '1' }]);
      },
    });
    expect(await second.deliverOnce()).toBe(true);
    expect(seen).toEqual(['first 1', 'second 1']);
    expect(broker.backlog('group', topic)).toBe(0);
    expect(await second.deliverOnce()).toBe(false);
  });
});
