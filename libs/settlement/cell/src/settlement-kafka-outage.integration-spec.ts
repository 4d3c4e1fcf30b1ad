import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Admin, Kafka, Producer } from 'kafkajs';

import { createIdempotentProducer, createKafka } from '@cellpay/connections';
import { pollUntil, uniqueName } from '@cellpay/testing';

import { reconcileGlobal } from './global-reconciliation';
import {
  CellSettlementProcess,
  DeliveryLog,
  dropRealCells,
  startSettlementProcesses,
  type RealCell,
  startRealCells,
} from './__tests__/real-cells.fixture';
import { payerAndMerchant, slotRouter } from './__tests__/settlement-cell.harness';

/** Payments made while Kafka runs, and again while it is stopped. */
const paymentsPerPhase = 100;
/** How long Kafka stays away while payers keep paying. */
const outageMs = 5_000;
const infraScript = join(__dirname, '../../../../tools/infra/infra.sh');

/**
 * A Kafka of this test's own (the shared one must never be stopped): its own state directory and
 * port, started and stopped through tools/infra like any other.
 */
function dedicatedKafka() {
  const stateDir = mkdtempSync(join(tmpdir(), 'cellpay-kafka-outage-'));
  const port = 29_200 + 2 * (process.pid % 400);
  const env = {
    ...process.env,
    CELLPAY_INFRA_SERVICES: 'kafka',
    CELLPAY_KAFKA_PORT: String(port),
    CELLPAY_INFRA_DIR: stateDir,
  };
  const run = (command: string): void => {
    execFileSync('bash', [infraScript, command], { env, stdio: 'ignore', timeout: 150_000 });
  };
  return {
    brokers: [`127.0.0.1:${port}`],
    up: () => run('up'),
    down: () => run('down'),
    remove: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

describe('cross-cell settlement while Kafka is away', () => {
  const router = slotRouter(['cell-1', 'cell-2', 'cell-3']);
  const broker = dedicatedKafka();
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let cells: RealCell[];
  let processes: CellSettlementProcess[];
  const log = new DeliveryLog();

  beforeAll(async () => {
    broker.up();
    kafka = createKafka({ brokers: broker.brokers, clientId: 'settlement-outage' });
    admin = kafka.admin();
    producer = createIdempotentProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
    const prefix = uniqueName('stlout');
    cells = await startRealCells(router, 2);
    processes = await startSettlementProcesses(cells, kafka, admin, producer, prefix, log);
  }, 240_000);

  afterAll(async () => {
    for (const process of processes ?? []) await process.stop().catch(() => undefined);
    if (cells !== undefined) await dropRealCells(cells);
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    broker.down();
    broker.remove();
  }, 240_000);

  it('keeps payers paying, grows the outbox, and settles everything once Kafka is back', async () => {
    const [a, b] = cells;
    if (a === undefined || b === undefined) throw new Error('two cells expected');
    const { merchantId, merchantAccountId, payerAccountId } = await payerAndMerchant(
      router,
      a,
      b,
      'outage',
      '1000000',
    );
    const payPhase = async (phase: string): Promise<string[]> => {
      const sagas: string[] = [];
      for (let n = 0; n < paymentsPerPhase; n++) {
        const saga = await a.crossCell.pay({
          merchantId,
          outTradeNo: `${phase}-${n}`,
          payerAccountId,
          amountMinor: '10',
          currency: 'CNY',
        });
        expect(saga.state).toBe('settling');
        sagas.push(saga.sagaId);
      }
      return sagas;
    };
    const allSettled = async (sagas: readonly string[]): Promise<boolean> => {
      for (const sagaId of sagas) {
        if ((await a.crossCell.saga(sagaId)).state !== 'settled') return false;
      }
      return true;
    };

    const before = await payPhase('before');
    await pollUntil(() => allSettled(before), { timeoutMs: 60_000, description: 'settled before' });

    broker.down();
    const outageStartedMs = Date.now();
    const during = await payPhase('during');
    expect(await a.source.depth()).toBe(paymentsPerPhase);
    // Payments went on; nothing of them reached the other cell while Kafka was away.
    expect((await b.accounts.balance(merchantAccountId)).balanceMinor).toBe(
      String(10 * paymentsPerPhase),
    );
    const waitMs = outageMs - (Date.now() - outageStartedMs);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    expect(await a.source.depth()).toBe(paymentsPerPhase);
    const outage = await reconcileGlobal(cells);
    expect(outage).toMatchObject({ clean: true, quiet: false });
    expect(outage.pairs[0]).toMatchObject({
      inFlightCount: paymentsPerPhase,
      inFlightMinor: String(10 * paymentsPerPhase),
    });

    broker.up();
    await pollUntil(() => allSettled(during), {
      timeoutMs: 180_000,
      intervalMs: 500,
      description: 'settled after Kafka returned',
    });
    expect(await a.source.depth()).toBe(0);
    expect((await b.accounts.balance(merchantAccountId)).balanceMinor).toBe(
      String(20 * paymentsPerPhase),
    );
    expect(log.appliedTwice()).toBe(0);
    expect(await reconcileGlobal(cells)).toMatchObject({ clean: true, quiet: true });
  }, 600_000);
});
