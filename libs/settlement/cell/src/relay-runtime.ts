import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Kafka } from 'kafkajs';
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
  type MysqlEndpoint,
  type RedisEndpoint,
} from '@cellpay/connections';
import { slotOwnershipOf } from '@cellpay/cell-domain';
import {
  createSwitchFollower,
  RoutingFollower,
  RoutingStore,
  routingRedisKeys,
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
  runBoundedShutdown,
  runInRequestContext,
  startOpsServer,
} from '@cellpay/observability';
import {
  ensureSettlementTopics,
  DeadLetterQueue,
  InboxConsumer,
  inboxConsumerDefaults,
  OutboxRelay,
  outboxRelayDefaults,
  type OutboxRow,
} from '@cellpay/settlement-messaging';

import { CellOutboxSource, type RelayPause } from './cell-outbox-source';
import type { CellRouter } from './cell-router';
import { MysqlRelayLeaderLock, relayLockName } from './mysql/mysql-relay-leader-lock';
import { MysqlSettlementStore } from './mysql/mysql-settlement-store';
import { SettlementCellModule } from './settlement-cell.module';
import { ApplySettlementEventUseCase } from './use-cases/apply-settlement-event.use-case';

/** How often the outbox depth gauge and the readiness of the shard are refreshed. */
const depthRefreshIntervalMs = 5_000;
/** How often the dead-letter gauge is refreshed (also right after each dead letter). */
const deadLetterRefreshIntervalMs = 30_000;
/** The dead-letter gauge counts up to this many waiting events (one bounded read of offsets). */
const deadLetterCountMax = 10_000;

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

export interface RelayRuntimeOptions {
  readonly cellId: string;
  readonly slotCount: number;
  /** The cell's own shard. */
  readonly shard: MysqlEndpoint & { readonly database: string };
  readonly shardConnectionsMax: number;
  readonly kafkaBrokers: readonly string[];
  readonly topicPrefix: string;
  /** Replicas of the cell's topics when the relay creates them (1 on a one-broker cluster). */
  readonly topicReplicationFactor?: number;
  readonly batchSizeMax: number;
  readonly opsPort: number;
  /**
   * The global zone: where the `cross_cell_payments_paused` switch lives, and the routing table
   * the inbound events are applied by (an event for an account whose slot moved is forwarded to
   * its owner). Absent: never paused, and every slot is owned (no table followed).
   */
  readonly switches?: { readonly globalMysql: MysqlEndpoint; readonly redis: RedisEndpoint };
  /** The Redis key prefix of the routing table (`CELLPAY_REDIS_PREFIX`); default `cellpay`. */
  readonly redisPrefix?: string;
}

/**
 * Attempts at creating the cell's topics. Right after a topic is created (or while other relays
 * create theirs on a fresh prefix) the broker may still answer that it does not host a partition;
 * on a loaded machine that lasted longer than five attempts (about 5 s), so the relay waits up to
 * about 15 s, each pause growing by `topicCreationRetryDelayMs` up to `topicCreationRetryDelayMsMax`.
 */
const topicCreationAttemptsMax = 10;
const topicCreationRetryDelayMs = 500;
const topicCreationRetryDelayMsMax = 2_000;

/**
 * The cell's consumer owns its inbound and dead-letter topics: they exist before it subscribes
 * (the broker never creates topics on its own), and so before other cells' relays publish to them.
 */
async function ensureOwnTopics(
  kafka: Kafka,
  options: RelayRuntimeOptions,
  logger: Logger,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureSettlementTopics(
          admin,
          [options.cellId],
          options.topicPrefix,
          options.topicReplicationFactor ?? 1,
        );
        return;
      } catch (error) {
        if (attempt >= topicCreationAttemptsMax) throw error;
        logger.warn({ err: error, attempt }, 'creating the settlement topics failed; retrying');
        await new Promise((resolve) =>
          setTimeout(
            resolve,
            Math.min(topicCreationRetryDelayMs * attempt, topicCreationRetryDelayMsMax),
          ),
        );
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export interface RelayRuntime {
  readonly opsPort: number;
  stop(): Promise<void>;
}

/**
 * One cell's settlement process: the outbox relay (leader-locked per cell, paused by the
 * `cross_cell_payments_paused` switch) and the inbox consumer of the cell's inbound topic, both
 * on the cell's own shard, with settlement lag and outbox depth on the ops port.
 */
export async function startRelayRuntime(
  options: RelayRuntimeOptions,
  logger: Logger,
): Promise<RelayRuntime> {
  const cellId = options.cellId;
  const pool = createMysqlPool(options.shard, {
    connectionsMax: options.shardConnectionsMax,
    queuedRequestsMax: 1_000,
    connectTimeoutMs: 5_000,
  });
  const unitOfWork = new MysqlCellStore(pool);
  const store = new MysqlSettlementStore();
  const clock = new SystemClock();
  const routing = await followRouting(options, logger);
  @Module({
    imports: [
      CellPersistenceModule.register({
        unitOfWork,
        clock,
        idGenerator: new RandomIdGenerator(clock),
        // Journals of applied events are posted to the general ledger at once; the cell
        // process catches up any backlog its own deferral switch left.
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId, slotCount: options.slotCount },
        ...(routing === undefined
          ? {}
          : { slotOwnership: slotOwnershipOf(cellId, () => routing.follower.current()) }),
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
  const ops = await startOpsServer({
    port: options.opsPort,
    registry,
    readiness,
    routingEpoch: () => routing?.follower.current().epoch,
  });
  if (routing !== undefined) {
    metrics.routingEpoch.set(Number(routing.follower.current().epoch));
    routing.follower.onChange((table) => metrics.routingEpoch.set(Number(table.epoch)));
  }

  const switches = await followSwitches(options, logger);
  readiness.set('switches', true, switches === undefined ? 'not followed' : 'following');
  const pause: RelayPause = {
    isPaused: () => switches?.current().value.crossCellPaymentsPaused ?? false,
  };
  const lock = new MysqlRelayLeaderLock(pool, relayLockName(options.shard.database));
  const source = new CellOutboxSource(unitOfWork, store, lock, pause);
  // Stress traffic's outbox lives in the shadow tables; a second relay loop publishes it, under
  // the same pause and the same leader lock (its checks are single-flight, so two loops may ask at
  // once): the cell's leader publishes both outboxes, and a stress run settles exactly like live
  // traffic does.
  const shadowSource = new CellOutboxSource(unitOfWork, store, lock, pause, 'shadow');

  const kafka = createKafka({
    brokers: [...options.kafkaBrokers],
    clientId: `relay-${cellId}`,
  });
  await ensureOwnTopics(kafka, options, logger);
  const producer = createIdempotentProducer(kafka);
  const consumer = createConsumer(kafka, `${options.topicPrefix}.inbox.${cellId}`);
  await producer.connect();
  await consumer.connect();
  readiness.set('kafka', true, 'connected');

  const relayOptions = {
    ...outboxRelayDefaults,
    topicPrefix: options.topicPrefix,
    batchSizeMax: options.batchSizeMax,
    onError: (error: unknown) => logger.warn({ err: error }, 'relay: publish failed; retrying'),
    // One debug line per event, in its request's context, so a request can be followed here.
    onPublished: (rows: readonly OutboxRow[]) => {
      if (!logger.isLevelEnabled('debug')) return;
      for (const { event } of rows) {
        runInRequestContext({ requestId: event.requestId, stress: event.stress }, () =>
          logger.debug(
            { eventId: event.eventId, type: event.type, destination: event.destinationCellId },
            'relay: event published',
          ),
        );
      }
    },
  };
  const relay = new OutboxRelay(source, producer, relayOptions);
  const shadowRelay = new OutboxRelay(shadowSource, producer, relayOptions);
  const deadLetters = new DeadLetterQueue(kafka, producer, {
    cellId,
    topicPrefix: options.topicPrefix,
    batchMax: deadLetterCountMax,
    readTimeoutMs: 10_000,
  });
  // The gauge behind the CellpayDeadLetterNotEmpty alert: events waiting for an operator's replay.
  const refreshDeadLetters = async (): Promise<void> => {
    try {
      metrics.deadLetterMessages.set({ cell: cellId }, await deadLetters.depth());
    } catch (error) {
      logger.warn({ err: error }, 'dead letters: depth unavailable');
    }
  };
  const inbox = new InboxConsumer(consumer, producer, context.get(ApplySettlementEventUseCase), {
    cellId,
    topicPrefix: options.topicPrefix,
    backoff: inboxConsumerDefaults.backoff,
    onApplied: (event, outcome, lagMs) => {
      logger.debug({ eventId: event.eventId, type: event.type, outcome, lagMs }, 'inbox: event');
      // Stress events count too: measuring the pipeline under load is what a stress run is for.
      if (outcome !== 'applied') return;
      metrics.settlementLagSeconds.observe(
        { source_cell: event.sourceCellId, destination_cell: cellId },
        lagMs / 1000,
      );
    },
    onDeadLetter: (reason) => {
      logger.error({ reason }, 'inbox: event dead-lettered');
      void refreshDeadLetters();
    },
    onError: (error) => logger.warn({ err: error }, 'inbox: apply failed; retrying'),
  });
  relay.start();
  shadowRelay.start();
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
  await refreshDeadLetters();
  const timers = [
    setInterval(() => void refreshDepth(), depthRefreshIntervalMs),
    setInterval(() => void refreshDeadLetters(), deadLetterRefreshIntervalMs),
  ];
  for (const timer of timers) timer.unref();
  logger.info({ cellId }, 'relay started');

  return {
    opsPort: ops.port,
    stop: async () => {
      for (const timer of timers) clearInterval(timer);
      const limits = relayRuntimeStopLimitsMs;
      await runBoundedShutdown(
        [
          {
            name: 'relay-loops',
            limitMs: limits.loops,
            run: () => Promise.all([relay.stop(), shadowRelay.stop()]),
          },
          { name: 'kafka-consumer', limitMs: limits.kafka, run: () => consumer.disconnect() },
          { name: 'kafka-producer', limitMs: limits.kafka, run: () => producer.disconnect() },
          { name: 'switches', limitMs: limits.connection, run: async () => switches?.close() },
          { name: 'routing', limitMs: limits.connection, run: async () => routing?.close() },
          { name: 'leader-lock', limitMs: limits.connection, run: () => lock.release() },
          { name: 'ops-server', limitMs: limits.connection, run: () => ops.close() },
          { name: 'nest-context', limitMs: limits.connection, run: () => context.close() },
          { name: 'shard-pool', limitMs: limits.connection, run: () => pool.end() },
        ],
        logger,
      );
    },
  };
}

/**
 * Bounds of the runtime's stop steps. A repoint stops the runtime of a primary that may be dead,
 * and a SIGTERM may come with MySQL, Redis or Kafka gone: each step gives up after its bound, so
 * the stop takes at most 2 + 2 x 2.5 + 5 x 1 = 12 s and leaves nothing running that it could stop.
 */
export const relayRuntimeStopLimitsMs = {
  loops: 2_000,
  kafka: 2_500,
  connection: 1_000,
} as const;

interface RelayRouting {
  readonly follower: RoutingFollower;
  close(): Promise<void>;
}

/** The routing table, followed like the cell process follows it (Redis announcements, DB reads). */
async function followRouting(
  options: RelayRuntimeOptions,
  logger: Logger,
): Promise<RelayRouting | undefined> {
  if (options.switches === undefined) return undefined;
  const globalPool: Pool = createMysqlPool(options.switches.globalMysql, {
    connectionsMax: 2,
    queuedRequestsMax: 16,
    connectTimeoutMs: 5_000,
  });
  const redis = createRedis(options.switches.redis);
  const subscriber = createRedis(options.switches.redis);
  const follower = new RoutingFollower(
    new RoutingStore(globalPool),
    redis,
    subscriber,
    { keys: routingRedisKeys(options.redisPrefix) },
    (error) => logger.warn({ err: error }, 'routing: refresh failed; keeping the last table'),
  );
  const table = await follower.start();
  logger.info({ epoch: String(table.epoch) }, 'relay follows the routing table');
  return {
    follower,
    // As for the switches: disconnecting first ends a stop that waits on an unreachable Redis.
    close: async () => {
      redis.disconnect();
      subscriber.disconnect();
      await follower.stop().catch(() => undefined);
      await globalPool.end();
    },
  };
}

/** The switches as the relay follows them, with the connections it opened for them. */
interface FollowedSwitches {
  current(): ReturnType<VersionedFollower<SwitchValues>['current']>;
  close(): Promise<void>;
}

async function followSwitches(
  options: RelayRuntimeOptions,
  logger: Logger,
): Promise<FollowedSwitches | undefined> {
  if (options.switches === undefined) return undefined;
  const globalPool: Pool = createMysqlPool(options.switches.globalMysql, {
    connectionsMax: 2,
    queuedRequestsMax: 100,
    connectTimeoutMs: 5_000,
  });
  const redis = createRedis(options.switches.redis);
  const subscriber = createRedis(options.switches.redis);
  const follower = createSwitchFollower(
    new SwitchStore(globalPool),
    redis,
    subscriber,
    { keys: switchRedisKeys() },
    (error) => logger.warn({ err: error }, 'switches: refresh failed'),
  );
  // Disconnecting first ends a follower stop that waits on an unreachable Redis; the pool is
  // ended last so a refresh in flight finishes or fails rather than meeting a closed pool.
  const close = async (): Promise<void> => {
    redis.disconnect();
    subscriber.disconnect();
    await follower.stop().catch(() => undefined);
    await globalPool.end();
  };
  try {
    await follower.start();
  } catch (error) {
    await close();
    throw error;
  }
  return { current: () => follower.current(), close };
}
