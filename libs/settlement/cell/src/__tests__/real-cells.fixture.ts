import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import type { Pool } from 'mysql2/promise';

import {
  liveTables,
  migrateCellShard,
  MysqlCellStore,
  shadowTables,
} from '@cellpay/cell-data-access';
import {
  createConsumer,
  createIdempotentProducer,
  createKafka,
  createMysqlPool,
} from '@cellpay/connections';
import type { SettlementEvent } from '@cellpay/settlement-domain';
import {
  type ApplyOutcome,
  ensureSettlementTopics,
  InboxConsumer,
  OutboxRelay,
  type OutboxRow,
  type OutboxSource,
} from '@cellpay/settlement-messaging';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { CellOutboxSource } from '../cell-outbox-source';
import type { CellRouter } from '../cell-router';
import { MysqlRelayLeaderLock, relayLockName } from '../mysql/mysql-relay-leader-lock';
import { MysqlSettlementStore } from '../mysql/mysql-settlement-store';
import { migrateSettlementShard, settlementTableSet } from '../mysql/settlement-migrations';
import type { CellRouting } from './routing-world';
import { type SettlementCellUnderTest, startSettlementCell } from './settlement-cell.harness';

export interface RealCell extends SettlementCellUnderTest {
  readonly pool: Pool;
  readonly database: string;
  /** The port of the cell's primary, for processes that open their own pool. */
  readonly port: number;
  readonly lock: MysqlRelayLeaderLock;
  readonly source: CellOutboxSource;
}

/**
 * One fresh database per cell, on that cell's own primary, with the cell and settlement schemas
 * (and their shadow copies for stress traffic when asked).
 */
export async function startRealCells(
  router: CellRouter,
  count = 3,
  options: {
    readonly shadowTables?: boolean;
    /** Each cell's own routing view (router and slot ownership); default: `router`, all owned. */
    readonly routingOf?: (cellId: string) => CellRouting;
  } = {},
): Promise<RealCell[]> {
  const infra = readInfraEndpoints();
  const cells: RealCell[] = [];
  for (const endpoint of infra.cells.slice(0, count)) {
    const server = { ...infra.mysql, port: endpoint.primary.port };
    const database = uniqueName('stl_cell');
    const admin = createMysqlPool(server);
    await admin.query(`CREATE DATABASE \`${database}\``);
    await admin.end();
    const pool = createMysqlPool(
      { ...server, database },
      { connectionsMax: 24, queuedRequestsMax: 5_000, connectTimeoutMs: 5_000 },
    );
    await migrateCellShard(pool, liveTables);
    await migrateSettlementShard(pool);
    if (options.shadowTables === true) {
      await migrateCellShard(pool, shadowTables);
      await migrateSettlementShard(pool, settlementTableSet(shadowTables.prefix));
    }
    const store = new MysqlSettlementStore();
    const unitOfWork = new MysqlCellStore(pool);
    const routing = options.routingOf?.(endpoint.id);
    const cell = await startSettlementCell(
      endpoint.id,
      unitOfWork,
      store,
      routing?.router ?? router,
      routing?.slotOwnership,
    );
    const lock = new MysqlRelayLeaderLock(pool, relayLockName(database));
    cells.push({
      ...cell,
      pool,
      database,
      port: endpoint.primary.port,
      lock,
      source: new CellOutboxSource(unitOfWork, store, lock),
    });
  }
  return cells;
}

export async function dropRealCells(cells: readonly RealCell[]): Promise<void> {
  for (const cell of cells) {
    await cell.close();
    await cell.lock.release();
    await cell.pool.query(`DROP DATABASE \`${cell.database}\``);
    await cell.pool.end();
  }
}

const errorsKeptMax = 20;

/** What the consumers saw: deliveries per event ID, and the settlement lag of each first apply. */
export class DeliveryLog {
  readonly applied = new Map<string, number>();
  /** Events passed on to the cell that owns their account now, by event ID. */
  readonly forwarded = new Map<string, number>();
  duplicates = 0;
  readonly lagMs: number[] = [];
  /** The first errors relays and consumers reported (retried), to explain a stuck run. */
  readonly errors: string[] = [];

  error(where: string, error: unknown): void {
    if (this.errors.length < errorsKeptMax) this.errors.push(`${where}: ${String(error)}`);
  }

  record(event: SettlementEvent, outcome: ApplyOutcome, lagMs: number): void {
    if (outcome === 'duplicate') {
      this.duplicates += 1;
      return;
    }
    if (outcome === 'forwarded') {
      this.forwarded.set(event.eventId, (this.forwarded.get(event.eventId) ?? 0) + 1);
      return;
    }
    this.applied.set(event.eventId, (this.applied.get(event.eventId) ?? 0) + 1);
    this.lagMs.push(lagMs);
  }

  appliedTwice(): number {
    return [...this.applied.values()].filter((times) => times > 1).length;
  }

  percentileMs(fraction: number): number {
    const sorted = [...this.lagMs].sort((x, y) => x - y);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
  }
}

/** An outbox source that can be told to "crash" the relay after the next publish, before marking. */
export class CrashableOutbox implements OutboxSource {
  crashBeforeNextMark = false;
  crashes = 0;

  constructor(private readonly inner: OutboxSource) {}

  fetchUnpublished(limit: number): Promise<readonly OutboxRow[]> {
    return this.inner.fetchUnpublished(limit);
  }

  async markPublished(sequences: readonly bigint[]): Promise<void> {
    if (this.crashBeforeNextMark) {
      this.crashBeforeNextMark = false;
      this.crashes += 1;
      throw new Error('relay killed after publish, before mark');
    }
    await this.inner.markPublished(sequences);
  }
}

export const relayOptions = {
  batchSizeMax: 200,
  idleWaitMs: 20,
  backoff: { initialMs: 20, maxMs: 500 },
} as const;

/** A cell's running relay and consumer, each of which the test can kill and restart. */
export class CellSettlementProcess {
  relay: OutboxRelay | undefined;
  consumer: Consumer | undefined;
  readonly outbox: CrashableOutbox;
  crashBeforeNextCommit = false;
  consumerCrashes = 0;

  constructor(
    private readonly cell: RealCell,
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly prefix: string,
    private readonly log: DeliveryLog,
  ) {
    this.outbox = new CrashableOutbox(cell.source);
  }

  startRelay(): void {
    this.relay = new OutboxRelay(this.outbox, this.producer, {
      topicPrefix: this.prefix,
      ...relayOptions,
      onError: (error) => this.log.error(`relay ${this.cell.cellId}`, error),
    });
    this.relay.start();
  }

  async stopRelay(): Promise<void> {
    await this.relay?.stop();
    this.relay = undefined;
  }

  async startConsumer(): Promise<void> {
    const consumer = createConsumer(this.kafka, `${this.prefix}.inbox.${this.cell.cellId}`);
    this.consumer = consumer;
    await consumer.connect();
    await new InboxConsumer(consumer, this.producer, this.cell.applier, {
      cellId: this.cell.cellId,
      topicPrefix: this.prefix,
      backoff: { initialMs: 20, maxMs: 500 },
      onApplied: (event, outcome, lagMs) => this.log.record(event, outcome, lagMs),
      onError: (error) => this.log.error(`consumer ${this.cell.cellId}`, error),
      beforeCommit: async () => {
        if (!this.crashBeforeNextCommit) return;
        this.crashBeforeNextCommit = false;
        this.consumerCrashes += 1;
        throw new Error('consumer killed after apply, before offset commit');
      },
    }).start();
  }

  async stopConsumer(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  async stop(): Promise<void> {
    await this.stopRelay();
    await this.stopConsumer();
  }
}

/** Creates the cells' topics under `prefix` and starts a relay and a consumer for each cell. */
export async function startSettlementProcesses(
  cells: readonly RealCell[],
  kafka: Kafka,
  admin: Admin,
  producer: Producer,
  prefix: string,
  log: DeliveryLog,
): Promise<CellSettlementProcess[]> {
  await ensureSettlementTopics(
    admin,
    cells.map((cell) => cell.cellId),
    prefix,
  );
  const processes = cells.map(
    (cell) => new CellSettlementProcess(cell, kafka, producer, prefix, log),
  );
  for (const process of processes) {
    process.startRelay();
    await process.startConsumer();
  }
  return processes;
}

/** A test's Kafka clients and its own topic prefix; `close` deletes the prefix's topics. */
export interface TestKafka {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly prefix: string;
  close(): Promise<void>;
}

export async function openTestKafka(clientId: string, prefixTag: string): Promise<TestKafka> {
  const kafka = createKafka({ brokers: readInfraEndpoints().kafka.brokers, clientId });
  const admin = kafka.admin();
  const producer = createIdempotentProducer(kafka);
  await Promise.all([admin.connect(), producer.connect()]);
  const prefix = uniqueName(prefixTag);
  return {
    kafka,
    admin,
    producer,
    prefix,
    close: async () => {
      await admin
        .deleteTopics({
          topics: (await admin.listTopics()).filter((topic) => topic.startsWith(`${prefix}.`)),
        })
        .catch(() => undefined);
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
