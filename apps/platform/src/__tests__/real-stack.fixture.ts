import 'reflect-metadata';

import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';
import type { INestMicroservice } from '@nestjs/common';
import type { Pool } from 'mysql2/promise';

import {
  liveTables,
  migrateCellShard,
  MysqlCellStore,
  RandomIdGenerator,
  SystemClock,
} from '@cellpay/cell-data-access';
import { startCellGrpcServer } from '@cellpay/cell-server';
import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import { NonceStore, RateLimiter } from '@cellpay/gateway-data-access';
import {
  Authenticator,
  CellBreakers,
  cellBreakerDefaults,
  createAuthenticatorPorts,
} from '@cellpay/gateway-edge';
import {
  GatewayService,
  type GatewayServer,
  GrpcCellTransport,
  isCellFailure,
  requiredScopes,
  startGatewayServer,
} from '@cellpay/gateway-server';
import {
  CredentialStore,
  globalMigrations,
  publishRoutingTable,
  RoutingFollower,
  RoutingStore,
  routingRedisKeys,
  SecretBox,
} from '@cellpay/global-data-access';
import { createLogger } from '@cellpay/observability';
import { type CellRoute, evenlySpreadSnapshot, type RoutingTable } from '@cellpay/routing';
import { CellpayClient } from '@cellpay/sdk';
import {
  migrateSettlementShard,
  MysqlSettlementStore,
  type ReconciledCell,
  routerOf,
  settlementGrpcExtension,
} from '@cellpay/settlement-cell';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { freePort } from '../embedded-platform';

export const realStackSlotCount = 100;
const logger = createLogger('real-stack-test', { level: 'silent' });

/** One cell of the stack: its server (which a test may stop and start) and its shard. */
export interface RealStackCell {
  readonly cellId: string;
  readonly pool: Pool;
  /** The cell's MariaDB primary and database, for processes that open their own pool (relays). */
  readonly port: number;
  readonly database: string;
  /** The shard and settlement's tables in it, as global reconciliation reads them. */
  readonly reconciled: ReconciledCell;
  app: INestMicroservice | undefined;
  start(): Promise<void>;
}

export interface RealStack {
  readonly prefix: string;
  readonly initial: RoutingTable;
  readonly routingStore: RoutingStore;
  readonly cells: readonly RealStackCell[];
  readonly transport: GrpcCellTransport;
  readonly breakers: CellBreakers;
  readonly gatewayAddress: string;
  /** A first-party wallet backend's client. */
  readonly wallets: CellpayClient;
  cell(cellId: string): RealStackCell;
  /** A Redis client under the stack's cleanup. */
  redis(): Redis;
  /** Registers a merchant with pay, refund and read scopes and returns its client. */
  merchant(merchantId: string): Promise<CellpayClient>;
  close(): Promise<void>;
}

/**
 * The gateway and real cell servers on the real infrastructure: each cell on a fresh database of
 * its own MariaDB primary (cell and settlement schemas, the settlement service composed exactly as
 * the cell process does), the global zone in a fresh database, nonces, rate limits and the routing
 * cache in Redis under a unique prefix. Processes are in-process servers talking gRPC on loopback.
 * Relays are the caller's: `startRelayRuntime` on each cell's `port` and `database`.
 */
export async function startRealStack(cellIds: readonly string[]): Promise<RealStack> {
  const infra = readInfraEndpoints();
  const prefix = uniqueName('gw');
  const globalDatabase = uniqueName('global');
  const cellDatabase = uniqueName('cell_gw');
  const pools: Pool[] = [];
  const redisClients: Redis[] = [];
  const followers: RoutingFollower[] = [];
  const clients: CellpayClient[] = [];
  const redis = (): Redis => {
    const client = createRedis(infra.redis);
    redisClients.push(client);
    return client;
  };

  const admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
  await admin.query(`CREATE DATABASE \`${globalDatabase}\``);
  await admin.end();
  const globalPool = createMysqlPool({
    ...infra.mysql,
    port: infra.global.port,
    database: globalDatabase,
  });
  pools.push(globalPool);
  await applyMigrations(globalPool, globalMigrations, globalDatabase);
  const routingStore = new RoutingStore(globalPool);
  const follower = async (): Promise<RoutingFollower> => {
    const created = new RoutingFollower(routingStore, redis(), redis(), {
      keys: routingRedisKeys(prefix),
      redisPollIntervalMs: 200,
      databasePollIntervalMs: 1_000,
    });
    followers.push(created);
    await created.start();
    return created;
  };
  const routes: CellRoute[] = cellIds.map((cellId) => ({
    cellId,
    homeRegion: 'local',
    standbyRegion: 'local',
    activeRegion: 'local',
    state: 'active',
  }));
  const initial = await routingStore.initialize(
    evenlySpreadSnapshot(routes, realStackSlotCount),
    'test',
  );
  await publishRoutingTable(redis(), routingRedisKeys(prefix), initial);

  const addresses = new Map<string, string>();
  const clock = new SystemClock();
  const cells: RealStackCell[] = [];
  for (const [index, cellId] of cellIds.entries()) {
    const primary = infra.cells[index]?.primary;
    if (primary === undefined) throw new Error(`the infrastructure has no ${cellId}`);
    const cellAdmin = createMysqlPool({ ...infra.mysql, port: primary.port });
    await cellAdmin.query(`CREATE DATABASE \`${cellDatabase}\``);
    await cellAdmin.end();
    const pool = createMysqlPool({ ...infra.mysql, port: primary.port, database: cellDatabase });
    pools.push(pool);
    await migrateCellShard(pool, liveTables);
    await migrateSettlementShard(pool);
    const cellRouting = await follower();
    const port = await freePort();
    addresses.set(cellId, `127.0.0.1:${port}`);
    const unitOfWork = new MysqlCellStore(pool);
    const store = new MysqlSettlementStore();
    const cell: RealStackCell = {
      cellId,
      pool,
      port: primary.port,
      database: cellDatabase,
      reconciled: { cellId, unitOfWork, store },
      app: undefined,
      start: async () => {
        cell.app = await startCellGrpcServer(
          {
            unitOfWork,
            clock,
            idGenerator: new RandomIdGenerator(clock),
            glPostingSwitch: { isGlPostingDeferred: () => false },
            settings: { cellId, slotCount: realStackSlotCount },
          },
          {
            port,
            logger,
            routing: cellRouting,
            host: '127.0.0.1',
            extensions: [
              settlementGrpcExtension({ store, router: routerOf(() => cellRouting.current()) }),
            ],
          },
        );
      },
    };
    await cell.start();
    cells.push(cell);
  }

  const credentials = new CredentialStore(globalPool, new SecretBox(randomBytes(32)));
  const gatewayRedis = redis();
  const breakers = new CellBreakers({
    ...cellBreakerDefaults,
    volumeThreshold: 3,
    resetTimeoutMs: 500,
    isCellFailure,
  });
  const transport = new GrpcCellTransport(addresses);
  const gateway: GatewayServer = await startGatewayServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    service: new GatewayService({
      authenticator: new Authenticator(
        createAuthenticatorPorts({
          credentials,
          nonces: new NonceStore(gatewayRedis, `${prefix}:nonce`),
          rateLimiter: new RateLimiter(gatewayRedis, `${prefix}:ratelimit`),
          stressTrafficRejected: () => false,
        }),
        requiredScopes,
      ),
      routing: await follower(),
      transport,
      breakers,
      options: { cellCallDeadlineMs: 2_000 },
    }),
  });
  const gatewayAddress = `127.0.0.1:${gateway.port}`;
  const clientOf = (key: { keyId: string; secret: Buffer }): CellpayClient => {
    const client = new CellpayClient({ address: gatewayAddress, ...key, retriesMax: 0 });
    clients.push(client);
    return client;
  };
  const walletKey = await credentials.createCredential({
    ownerId: 'wallet-backend',
    ownerKind: 'first_party',
    scopes: ['wallet'],
    ratePerSecond: 1_000,
    burst: 1_000,
  });

  return {
    prefix,
    initial,
    routingStore,
    cells,
    transport,
    breakers,
    gatewayAddress,
    wallets: clientOf(walletKey),
    cell: (cellId) => {
      const found = cells.find((cell) => cell.cellId === cellId);
      if (found === undefined) throw new Error(`no cell ${cellId}`);
      return found;
    },
    redis,
    merchant: async (merchantId) => {
      await credentials.registerMerchant(merchantId, `Merchant ${merchantId}`);
      return clientOf(
        await credentials.createCredential({
          ownerId: merchantId,
          ownerKind: 'merchant',
          scopes: ['pay', 'refund', 'read'],
          ratePerSecond: 1_000,
          burst: 1_000,
        }),
      );
    },
    close: async () => {
      for (const client of clients) client.close();
      await gateway.shutdown();
      breakers.shutdown();
      transport.close();
      for (const cell of cells) await cell.app?.close();
      for (const created of followers) await created.stop();
      const cleaner = redisClients[0];
      if (cleaner !== undefined) {
        const keys = await cleaner.keys(`${prefix}:*`);
        if (keys.length > 0) await cleaner.del(...keys);
      }
      for (const client of redisClients) client.disconnect();
      for (const pool of pools) {
        const [[row]] = (await pool.query('SELECT DATABASE() AS name')) as unknown as [
          { name: string }[],
        ];
        if (row !== undefined) await pool.query(`DROP DATABASE \`${row.name}\``);
        await pool.end();
      }
    },
  };
}

/** A user (or merchant) ID with `prefix` whose slot the table gives to `cellId`. */
export function idHomedIn(table: RoutingTable, cellId: string, prefix: string): string {
  for (let index = 0; index < 1_000; index++) {
    const candidate = `${prefix}-${index}`;
    if (table.routeUser(candidate).cellId === cellId) return candidate;
  }
  throw new Error(`no ID with prefix ${prefix} lands in ${cellId}`);
}

/** Opens a merchant's account in a cell directly (merchant onboarding is not in the public API). */
export async function openMerchantAccount(
  stack: RealStack,
  cellId: string,
  merchantId: string,
): Promise<string> {
  const account = await stack.transport.call(cellId, {
    service: 'AccountService',
    method: 'openAccount',
    request: { kind: 'merchant', ownerId: merchantId, currency: 'CNY' },
    metadata: {},
    deadlineMs: 3_000,
  });
  return String(account['accountId']);
}
