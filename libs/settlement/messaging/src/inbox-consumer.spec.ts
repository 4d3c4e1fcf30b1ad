import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';

import { createLogger, currentRequestContext, type RequestContext } from '@cellpay/observability';
import {
  type SettlementEvent,
  SettlementEventType,
  serializeSettlementEvent,
  settlementHeaders,
} from '@cellpay/settlement-domain';

import { type ApplyOutcome, type EventApplier, InboxConsumer } from './inbox-consumer';
import { toMessage } from './outbox-relay';

const event = (stress: boolean, n: number): SettlementEvent => ({
  schemaVersion: 1,
  eventId: `evt-${n}`,
  type: SettlementEventType.CreditRequested,
  sourceCellId: 'cell-1',
  destinationCellId: 'cell-2',
  sagaId: `saga-${n}`,
  accountId: 'acc-1',
  amountMinor: 100n,
  currency: 'CNY',
  createdAtMs: 1,
  stress,
  requestId: `req-gateway-${n}`,
  attributes: {},
});

/** A Kafka message as the relay builds it, with headers as kafkajs hands them over (buffers). */
function delivered(source: SettlementEvent, headers: Record<string, string> = {}): KafkaMessage {
  const message = toMessage(source);
  const all = { ...(message.headers as Record<string, string>), ...headers };
  return {
    key: Buffer.from(String(message.key)),
    value: Buffer.from(serializeSettlementEvent(source)),
    headers: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Buffer.from(v)])),
    offset: '0',
    timestamp: '0',
    attributes: 0,
  };
}

describe('the inbox consumer restores the request context from Kafka headers', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('relay', {
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  const seen: (RequestContext | undefined)[] = [];
  const deadLetters: Record<string, string>[] = [];
  const applier: EventApplier = {
    apply: async (): Promise<ApplyOutcome> => {
      seen.push(currentRequestContext());
      logger.info('applying');
      return 'applied';
    },
  };

  async function consume(messages: KafkaMessage[]): Promise<void> {
    let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
    const consumer = {
      subscribe: async () => undefined,
      run: async (options: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
        eachBatch = options.eachBatch;
      },
      commitOffsets: async () => undefined,
    } as unknown as Consumer;
    const producer = {
      send: async (record: { messages: { headers: Record<string, Buffer | string> }[] }) => {
        for (const message of record.messages) {
          deadLetters.push(
            Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)])),
          );
        }
      },
    } as unknown as Producer;
    await new InboxConsumer(consumer, producer, applier, {
      cellId: 'cell-2',
      topicPrefix: 'test',
      backoff: { initialMs: 1, maxMs: 1 },
      onApplied: () => logger.info('applied'),
    }).start();
    await eachBatch?.({
      batch: { topic: 'test.settlement.inbound.cell-2', partition: 0, messages },
      isRunning: () => true,
      isStale: () => false,
      resolveOffset: () => undefined,
      heartbeat: async () => undefined,
    } as unknown as EachBatchPayload);
  }

  beforeEach(() => {
    lines.length = 0;
    seen.length = 0;
    deadLetters.length = 0;
  });

  it('applies each event inside its request ID and stress mark, and logs carry the ID', async () => {
    await consume([delivered(event(false, 1)), delivered(event(true, 2))]);
    expect(seen).toEqual([
      { requestId: 'req-gateway-1', stress: false },
      { requestId: 'req-gateway-2', stress: true },
    ]);
    expect(lines.map((line) => [line['msg'], line['requestId'], line['stress']])).toEqual([
      ['applying', 'req-gateway-1', undefined],
      ['applied', 'req-gateway-1', undefined],
      ['applying', 'req-gateway-2', true],
      ['applied', 'req-gateway-2', true],
    ]);
  });

  it('dead-letters an event whose stress header contradicts its body, without applying it', async () => {
    await consume([
      delivered(event(true, 3), { [settlementHeaders.stress]: '0' }),
      delivered(event(false, 4), { [settlementHeaders.stress]: 'yes' }),
    ]);
    expect(seen).toEqual([]);
    expect(deadLetters.map((headers) => headers[settlementHeaders.error])).toEqual([
      expect.stringMatching(/^stress_mark_mismatch/),
      expect.stringMatching(/^stress_mark_mismatch/),
    ]);
  });

  it('falls back to the event body when a message carries no context headers', async () => {
    const bare = delivered(event(true, 5));
    bare.headers = {};
    await consume([bare]);
    expect(seen).toEqual([{ requestId: 'req-gateway-5', stress: true }]);
  });
});
