import 'reflect-metadata';

import { randomBytes } from 'node:crypto';

import { status } from '@grpc/grpc-js';
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
import { type CellRoute, evenlySpreadSnapshot } from '@cellpay/routing';
import { CellpayClient, CellpayError } from '@cellpay/sdk';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { freePort } from './embedded-platform';
import { refusalOf } from './refusal.test-helper';

const cellIds = ['cell-1', 'cell-2', 'cell-3'] as const;
const slotCount = 100;
const cny = (amountMinor: bigint) => ({ amountMinor, currency: 'CNY' as const });
const logger = createLogger('real-stack-test', { level: 'silent' });

/**
 * The gateway and three cells on the real infrastructure: each cell on its own fresh database on
 * its own MariaDB primary, the global zone in a fresh database, nonces, rate limits and the routing
 * cache in Redis under a unique prefix. Processes are in-process servers talking gRPC on loopback.
 */
describe('the gateway on the real stack', () => {
  const infra = readInfraEndpoints();
  const prefix = uniqueName('gw');
  const globalDatabase = uniqueName('global');
  const cellDatabase = uniqueName('cell_gw');
  const merchantId = uniqueName('merchant').replaceAll('_', '-');
  const pools: Pool[] = [];
  const redisClients: Redis[] = [];
  const followers: RoutingFollower[] = [];
  const cellApps = new Map<
    string,
    { app: INestMicroservice | undefined; start(): Promise<void> }
  >();
  let routingStore: RoutingStore;
  let gateway: GatewayServer;
  let breakers: CellBreakers;
  let transport: GrpcCellTransport;
  let merchant: CellpayClient;
  let wallets: CellpayClient;
  let rival: CellpayClient;
  const accounts = new Map<string, string>();

  const redis = (): Redis => {
    const client = createRedis(infra.redis);
    redisClients.push(client);
    return client;
  };
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

  beforeAll(async () => {
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
    routingStore = new RoutingStore(globalPool);
    const routes: CellRoute[] = cellIds.map((cellId) => ({
      cellId,
      homeRegion: 'local',
      standbyRegion: 'local',
      activeRegion: 'local',
      state: 'active',
    }));
    const initial = await routingStore.initialize(evenlySpreadSnapshot(routes, slotCount), 'test');
    await publishRoutingTable(redis(), routingRedisKeys(prefix), initial);

    const addresses = new Map<string, string>();
    const clock = new SystemClock();
    for (const [index, cellId] of cellIds.entries()) {
      const primary = infra.cells[index]?.primary;
      if (primary === undefined) throw new Error(`the infrastructure has no ${cellId}`);
      const cellAdmin = createMysqlPool({ ...infra.mysql, port: primary.port });
      await cellAdmin.query(`CREATE DATABASE \`${cellDatabase}\``);
      await cellAdmin.end();
      const pool = createMysqlPool({ ...infra.mysql, port: primary.port, database: cellDatabase });
      pools.push(pool);
      await migrateCellShard(pool, liveTables);
      const cellRouting = await follower();
      const port = await freePort();
      addresses.set(cellId, `127.0.0.1:${port}`);
      const entry = {
        app: undefined as INestMicroservice | undefined,
        start: async () => {
          entry.app = await startCellGrpcServer(
            {
              unitOfWork: new MysqlCellStore(pool),
              clock,
              idGenerator: new RandomIdGenerator(clock),
              glPostingSwitch: { isGlPostingDeferred: () => false },
              settings: { cellId, slotCount },
            },
            { port, logger, routing: cellRouting, host: '127.0.0.1' },
          );
        },
      };
      await entry.start();
      cellApps.set(cellId, entry);
    }

    const credentials = new CredentialStore(globalPool, new SecretBox(randomBytes(32)));
    await credentials.registerMerchant(merchantId, 'Gateway test merchant');
    await credentials.registerMerchant(`${merchantId}-rival`, 'Rival');
    const merchantKey = await credentials.createCredential({
      ownerId: merchantId,
      ownerKind: 'merchant',
      scopes: ['pay', 'refund', 'read'],
      ratePerSecond: 1_000,
      burst: 1_000,
    });
    const rivalKey = await credentials.createCredential({
      ownerId: `${merchantId}-rival`,
      ownerKind: 'merchant',
      scopes: ['pay', 'refund', 'read'],
      ratePerSecond: 1_000,
      burst: 1_000,
    });
    const walletKey = await credentials.createCredential({
      ownerId: 'wallet-backend',
      ownerKind: 'first_party',
      scopes: ['wallet'],
      ratePerSecond: 1_000,
      burst: 1_000,
    });
    const gatewayRedis = redis();
    breakers = new CellBreakers({
      ...cellBreakerDefaults,
      volumeThreshold: 3,
      resetTimeoutMs: 500,
      isCellFailure,
    });
    transport = new GrpcCellTransport(addresses);
    gateway = await startGatewayServer({
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
    const address = `127.0.0.1:${gateway.port}`;
    merchant = new CellpayClient({ address, ...merchantKey, retriesMax: 0 });
    rival = new CellpayClient({ address, ...rivalKey, retriesMax: 0 });
    wallets = new CellpayClient({ address, ...walletKey, retriesMax: 0 });

    // The merchant's account in every cell, and a funded wallet per cell.
    for (const cellId of cellIds) {
      await transport.call(cellId, {
        service: 'AccountService',
        method: 'openAccount',
        request: { kind: 'merchant', ownerId: merchantId, currency: 'CNY' },
        metadata: {},
        deadlineMs: 3_000,
      });
    }
    for (let index = 0; accounts.size < cellIds.length && index < 200; index++) {
      const userId = `${prefix}-user-${index}`;
      const cellId = initial.routeUser(userId).cellId;
      if (accounts.has(cellId)) continue;
      const account = await wallets.openAccount({ userId, currency: 'CNY' });
      await wallets.topUp({
        requestId: `seed-${userId}`,
        accountId: account.accountId,
        amount: cny(100_000n),
      });
      accounts.set(cellId, account.accountId);
    }
  }, 60_000);

  afterAll(async () => {
    for (const client of [merchant, rival, wallets]) client?.close();
    await gateway?.shutdown();
    breakers?.shutdown();
    transport?.close();
    for (const entry of cellApps.values()) await entry.app?.close();
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
  }, 60_000);

  const accountIn = (cellId: string): string => {
    const accountId = accounts.get(cellId);
    if (accountId === undefined) throw new Error(`no wallet in ${cellId}`);
    return accountId;
  };

  it.each(cellIds)('pays, captures, refunds and queries by both IDs in %s', async (cellId) => {
    const payer = accountIn(cellId);
    const paid = await merchant.pay({
      outTradeNo: `${cellId}-pay`,
      payerAccountId: payer,
      amount: cny(1_000n),
    });
    expect(paid.status).toBe('captured');
    const authorized = await merchant.authorize({
      outTradeNo: `${cellId}-auth`,
      payerAccountId: payer,
      amount: cny(2_000n),
      ttlSeconds: 600,
    });
    await expect(
      merchant.capture({ paymentId: authorized.paymentId, amountMinor: 1_500n }),
    ).resolves.toMatchObject({ capturedMinor: '1500', status: 'partly_captured' });
    const refund = await merchant.refund({
      paymentId: paid.paymentId,
      outRefundNo: `${cellId}-r`,
      amountMinor: 400n,
    });
    expect(refund.payment).toMatchObject({ refundedMinor: '400' });
    await expect(merchant.getPayment({ paymentId: paid.paymentId })).resolves.toMatchObject({
      outTradeNo: `${cellId}-pay`,
      refundedMinor: '400',
    });
    await expect(merchant.getPayment({ outTradeNo: `${cellId}-auth` })).resolves.toMatchObject({
      paymentId: authorized.paymentId,
    });
    await expect(wallets.getBalance({ accountId: payer })).resolves.toMatchObject({
      balanceMinor: String(100_000n - 1_000n - 1_500n + 400n),
    });
    const stolen = await refusalOf(rival.getPayment({ paymentId: paid.paymentId }));
    expect(stolen).toMatchObject({ code: status.NOT_FOUND, reason: 'payment_not_found' });
  });

  it('moves a slot while traffic runs; the old cell applies nothing routed after the move', async () => {
    const payer = accountIn('cell-1');
    const slot = Number(payer.slice(4, 8));
    const issued: { outTradeNo: string; afterMove: boolean }[] = [];
    let moved = false;
    const traffic = (async () => {
      for (let index = 0; index < 60; index++) {
        const outTradeNo = `move-${index}`;
        issued.push({ outTradeNo, afterMove: moved });
        await merchant
          .pay({ outTradeNo, payerAccountId: payer, amount: cny(1n) })
          .catch(() => undefined);
      }
    })();
    await pollUntil(() => Promise.resolve(issued.length >= 10 ? true : undefined), {
      timeoutMs: 10_000,
    });
    // The protocol of a slot move: freeze, wait until the routers refuse the slot, flip, unfreeze.
    const change = { actor: 'test', action: 'slot.move', subject: String(slot) };
    const keys = routingRedisKeys(prefix);
    const publisher = redis();
    await publishRoutingTable(
      publisher,
      keys,
      await routingStore.setSlotState([slot], 'frozen', change),
    );
    await pollUntil(
      () =>
        merchant
          .getPayment({ outTradeNo: 'probe-frozen' })
          .then(() => undefined)
          .catch(() =>
            wallets
              .getBalance({ accountId: payer })
              .then(() => undefined)
              .catch((error: unknown) =>
                error instanceof CellpayError && error.reason === 'slot_frozen' ? true : undefined,
              ),
          ),
      { timeoutMs: 5_000, description: 'the gateway refuses the frozen slot' },
    );
    await publishRoutingTable(
      publisher,
      keys,
      await routingStore.assignSlots([slot], 'cell-2', change),
    );
    moved = true;
    await publishRoutingTable(
      publisher,
      keys,
      await routingStore.setSlotState([slot], 'active', change),
    );
    await traffic;
    const afterMove = issued.filter((entry) => entry.afterMove);
    expect(afterMove.length).toBeGreaterThan(0);
    for (const { outTradeNo } of afterMove) {
      const code = await transport
        .call('cell-1', {
          service: 'PaymentService',
          method: 'getPaymentByOutTradeNo',
          request: { merchantId, outTradeNo },
          metadata: {},
          deadlineMs: 2_000,
        })
        .then(() => status.OK)
        .catch((error: { code: number }) => error.code);
      expect({ outTradeNo, code }).toEqual({ outTradeNo, code: status.NOT_FOUND });
    }
  }, 30_000);

  it('fails fast for a dead cell and recovers when it returns', async () => {
    const victim = cellApps.get('cell-3');
    if (victim === undefined) throw new Error('no cell-3');
    await victim.app?.close();
    victim.app = undefined;
    try {
      for (let index = 0; index < 30 && breakers.state('cell-3') !== 'open'; index++) {
        await refusalOf(wallets.getBalance({ accountId: accountIn('cell-3') }));
      }
      expect(breakers.state('cell-3')).toBe('open');
      const startedAt = performance.now();
      const refused = await refusalOf(wallets.getBalance({ accountId: accountIn('cell-3') }));
      expect(performance.now() - startedAt).toBeLessThan(100);
      expect(refused).toMatchObject({ code: status.UNAVAILABLE, reason: 'cell_unavailable' });
      await expect(wallets.getBalance({ accountId: accountIn('cell-2') })).resolves.toBeDefined();
    } finally {
      await victim.start();
    }
    await pollUntil(
      () =>
        wallets
          .getBalance({ accountId: accountIn('cell-3') })
          .then(() => true)
          .catch(() => undefined),
      { timeoutMs: 10_000 },
    );
    expect(breakers.state('cell-3')).toBe('closed');
  }, 30_000);
});
