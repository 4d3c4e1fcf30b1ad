import type { Pool } from 'mysql2/promise';

import { applyMigrations, createKafka, createMysqlPool, createRedis } from '@cellpay/connections';
import {
  globalMigrations,
  publishRoutingTable,
  routingRedisKeys,
  RoutingStore,
} from '@cellpay/global-data-access';
import { createLogger } from '@cellpay/observability';
import { type RoutingSnapshot } from '@cellpay/routing';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { dropRealCells, type RealCell, startRealCells } from './__tests__/real-cells.fixture';
import { payerAndMerchant, slotRouter } from './__tests__/settlement-cell.harness';
import { type RelayRuntime, startRelayRuntime } from './relay-runtime';

describe('relay process on real MariaDB and Kafka', () => {
  const router = slotRouter(['cell-1', 'cell-2']);
  const infra = readInfraEndpoints();
  const prefix = uniqueName('stlrelay');
  const globalDatabase = uniqueName('stlrelay_global');
  const redisPrefix = uniqueName('stlrelay').replaceAll('_', '-').toLowerCase();
  let cells: RealCell[];
  let globalPool: Pool;
  const runtimes: RelayRuntime[] = [];

  /** The global zone the relays follow: switches, and a routing table laid out as `router`. */
  async function startGlobalZone(): Promise<void> {
    const admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${globalDatabase}\``);
    await admin.end();
    globalPool = createMysqlPool({
      ...infra.mysql,
      port: infra.global.port,
      database: globalDatabase,
    });
    await applyMigrations(globalPool, globalMigrations, globalDatabase);
    const snapshot: RoutingSnapshot = {
      epoch: 1n,
      slotCount: 100,
      cells: ['cell-1', 'cell-2'].map((cellId) => ({
        cellId,
        homeRegion: 'local',
        standbyRegion: 'local',
        activeRegion: 'local',
        state: 'active' as const,
      })),
      slots: Array.from({ length: 100 }, (_, slot) => ({
        slot,
        cellId: router.cellOfSlot(slot),
        state: 'active' as const,
      })),
      overrides: [],
    };
    const table = await new RoutingStore(globalPool).initialize(snapshot, 'relay-test');
    const redis = createRedis(infra.redis);
    await publishRoutingTable(redis, routingRedisKeys(redisPrefix), table);
    redis.disconnect();
  }

  beforeAll(async () => {
    cells = await startRealCells(router, 2);
    await startGlobalZone();
    const admin = createKafka({ brokers: infra.kafka.brokers, clientId: 'relay-test' }).admin();
    await admin.connect();
    await ensureSettlementTopics(
      admin,
      cells.map((cell) => cell.cellId),
      prefix,
    );
    await admin.disconnect();
    for (const cell of cells) {
      const options = {
        cellId: cell.cellId,
        slotCount: 100,
        shard: { ...infra.mysql, port: cell.port, database: cell.database },
        shardConnectionsMax: 4,
        kafkaBrokers: infra.kafka.brokers,
        topicPrefix: prefix,
        batchSizeMax: 100,
        opsPort: 0,
        switches: {
          globalMysql: { ...infra.mysql, port: infra.global.port, database: globalDatabase },
          redis: infra.redis,
        },
        redisPrefix,
      };
      runtimes.push(
        await startRelayRuntime(options, createLogger('relay-test', { level: 'error' })),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const runtime of runtimes) await runtime.stop();
    if (cells !== undefined) await dropRealCells(cells);
    await globalPool?.query(`DROP DATABASE IF EXISTS \`${globalDatabase}\``).catch(() => undefined);
    await globalPool?.end();
  }, 120_000);

  it('settles a cross-cell payment through two relay processes and exports lag and depth', async () => {
    const [a, b] = cells;
    const [, relayOfB] = runtimes;
    if (a === undefined || b === undefined || relayOfB === undefined) throw new Error('2 cells');
    const { merchantId, merchantAccountId, payerAccountId } = await payerAndMerchant(
      router,
      a,
      b,
      'relay',
      '900',
    );
    const saga = await a.crossCell.pay({
      merchantId,
      outTradeNo: 'relay-1',
      payerAccountId,
      amountMinor: '900',
      currency: 'CNY',
    });
    await pollUntil(async () => (await a.crossCell.saga(saga.sagaId)).state === 'settled', {
      timeoutMs: 60_000,
      description: 'settled through the relay processes',
    });
    expect((await b.accounts.balance(merchantAccountId)).balanceMinor).toBe('900');

    const base = `http://127.0.0.1:${relayOfB.opsPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /cellpay_settlement_lag_seconds_count\{source_cell="cell-1",destination_cell="cell-2"\} 1/,
    );
    expect(metrics).toMatch(/cellpay_outbox_depth\{cell="cell-2"\} \d+/);
    expect(metrics).toMatch(/cellpay_dead_letter_messages\{cell="cell-2"\} 0/);
    // The relay follows the routing table (its ledger refuses slots it does not own) and says
    // which epoch it enforces, for the migration's drain.
    expect(metrics).toMatch(/^cellpay_routing_epoch 1$/m);
    expect(await (await fetch(`${base}/routing`)).json()).toEqual({ epoch: '1' });
  }, 120_000);
});
