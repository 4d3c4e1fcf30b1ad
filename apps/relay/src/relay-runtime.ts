import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'mysql2/promise';

import { AccountingModule } from '@cellpay/cell-accounting';
import {
  CellPersistenceModule,
  MysqlCellStore,
  RandomIdGenerator,
  SystemClock,
} from '@cellpay/cell-data-access';
import {
  createConsumer,
  createIdempotentProducer,
  createKafka,
  createMysqlPool,
  createRedis,
} from '@cellpay/connections';
import {
  createSwitchFollower,
  SwitchStore,
  switchRedisKeys,
  type SwitchValues,
  type VersionedFollower,
} from '@cellpay/global-data-access';
import {
  createCellpayMetrics,
  createMetricsRegistry,
  type Logger,
  ReadinessState,
  startOpsServer,
} from '@cellpay/observability';
import {
  ApplySettlementEventUseCase,
  CellOutboxSource,
  type CellRouter,
  MysqlRelayLeaderLock,
  MysqlSettlementStore,
  type RelayPause,
  relayLockName,
  SettlementCellModule,
} from '@cellpay/settlement-cell';
import {
  InboxConsumer,
  inboxConsumerDefaults,
  OutboxRelay,
  outboxRelayDefaults,
} from '@cellpay/settlement-messaging';

import { mysqlEndpointOf, type RelayConfig } from './relay-config';

/** How often the outbox depth gauge and the readiness of the shard are refreshed. */
const depthRefreshIntervalMs = 5_000;

/**
 * The relay applies inbound events and publishes the outbox; it never starts a saga, so it has
 * no use for the routing table. Anything that asks is a wiring mistake.
 */
const noSagasStartHere: CellRouter = {
  cellOfUser: () => {
    throw new Error('the relay process starts no cross-cell sagas');
  },
  cellOfSlot: () => {
    throw new Error('the relay process starts no cross-cell sagas');
  },
};

export interface RelayRuntime {
  stop(): Promise<void>;
}

/**
 * One cell's settlement process: the outbox relay (leader-locked per cell, paused by the
 * `cross_cell_payments_paused` switch) and the inbox consumer of the cell's inbound topic, both
 * on the cell's own shard, with settlement lag and outbox depth on the ops port.
 */
export async function startRelayRuntime(
  config: RelayConfig,
  logger: Logger,
): Promise<RelayRuntime> {
  const cellId = config.CELLPAY_CELL_ID;
  const endpoint = mysqlEndpointOf(config.CELLPAY_MYSQL_URL, 'CELLPAY_MYSQL_URL');
  const pool = createMysqlPool(endpoint, {
    connectionsMax: config.CELLPAY_MYSQL_CONNECTIONS_MAX,
    queuedRequestsMax: 1_000,
    connectTimeoutMs: 5_000,
  });
  const unitOfWork = new MysqlCellStore(pool);
  const store = new MysqlSettlementStore();
  const clock = new SystemClock();
  @Module({
    imports: [
      CellPersistenceModule.register({
        unitOfWork,
        clock,
        idGenerator: new RandomIdGenerator(clock),
        // Journals of applied events are posted to the general ledger at once; the cell
        // process catches up any backlog its own deferral switch left.
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId, slotCount: config.CELLPAY_SLOT_COUNT },
      }),
      AccountingModule,
      SettlementCellModule.register({ store, router: noSagasStartHere }),
    ],
  })
  class RelayModule {}
  const context: INestApplicationContext = await NestFactory.createApplicationContext(RelayModule, {
    logger: false,
  });

  const registry = createMetricsRegistry();
  const metrics = createCellpayMetrics(registry);
  const readiness = new ReadinessState(['mysql', 'kafka', 'switches']);
  const ops = await startOpsServer({ port: config.CELLPAY_OPS_PORT, registry, readiness });

  const switches = await followSwitches(config, logger);
  readiness.set('switches', true, switches === undefined ? 'not followed' : 'following');
  const pause: RelayPause = {
    isPaused: () => switches?.current().value.crossCellPaymentsPaused ?? false,
  };
  const lock = new MysqlRelayLeaderLock(pool, relayLockName(endpoint.database ?? cellId));
  const source = new CellOutboxSource(unitOfWork, store, lock, pause);

  const kafka = createKafka({
    brokers: config.CELLPAY_KAFKA_BROKERS.split(','),
    clientId: `relay-${cellId}`,
  });
  const producer = createIdempotentProducer(kafka);
  const consumer = createConsumer(kafka, `${config.CELLPAY_KAFKA_TOPIC_PREFIX}.inbox.${cellId}`);
  await producer.connect();
  await consumer.connect();
  readiness.set('kafka', true, 'connected');

  const relay = new OutboxRelay(source, producer, {
    ...outboxRelayDefaults,
    topicPrefix: config.CELLPAY_KAFKA_TOPIC_PREFIX,
    batchSizeMax: config.CELLPAY_OUTBOX_BATCH_SIZE_MAX,
    onError: (error) => logger.warn({ err: error }, 'relay: publish failed; retrying'),
  });
  const inbox = new InboxConsumer(consumer, producer, context.get(ApplySettlementEventUseCase), {
    cellId,
    topicPrefix: config.CELLPAY_KAFKA_TOPIC_PREFIX,
    backoff: inboxConsumerDefaults.backoff,
    onApplied: (event, outcome, lagMs) => {
      if (outcome !== 'applied') return;
      metrics.settlementLagSeconds.observe(
        { source_cell: event.sourceCellId, destination_cell: cellId },
        lagMs / 1000,
      );
    },
    onDeadLetter: (reason) => logger.error({ reason }, 'inbox: event dead-lettered'),
    onError: (error) => logger.warn({ err: error }, 'inbox: apply failed; retrying'),
  });
  relay.start();
  await inbox.start();

  const refreshDepth = async (): Promise<void> => {
    try {
      metrics.outboxDepth.set({ cell: cellId }, await source.depth());
      readiness.set('mysql', true, 'shard reachable');
    } catch (error) {
      readiness.set('mysql', false, String(error));
    }
  };
  await refreshDepth();
  const depthTimer = setInterval(() => void refreshDepth(), depthRefreshIntervalMs);
  depthTimer.unref();
  logger.info({ cellId }, 'relay started');

  return {
    stop: async () => {
      clearInterval(depthTimer);
      await relay.stop();
      await consumer.disconnect();
      await producer.disconnect();
      await switches?.stop();
      await lock.release();
      await ops.close();
      await context.close();
      await pool.end();
    },
  };
}

async function followSwitches(
  config: RelayConfig,
  logger: Logger,
): Promise<VersionedFollower<SwitchValues> | undefined> {
  if (config.CELLPAY_GLOBAL_MYSQL_URL === '') return undefined;
  const globalPool: Pool = createMysqlPool(
    mysqlEndpointOf(config.CELLPAY_GLOBAL_MYSQL_URL, 'CELLPAY_GLOBAL_MYSQL_URL'),
    { connectionsMax: 2, queuedRequestsMax: 100, connectTimeoutMs: 5_000 },
  );
  const redisUrl = new URL(config.CELLPAY_REDIS_URL);
  const redisEndpoint = { host: redisUrl.hostname, port: Number(redisUrl.port || '6379') };
  const follower = createSwitchFollower(
    new SwitchStore(globalPool),
    createRedis(redisEndpoint),
    createRedis(redisEndpoint),
    { keys: switchRedisKeys() },
    (error) => logger.warn({ err: error }, 'switches: refresh failed'),
  );
  await follower.start();
  return follower;
}
