import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import {
  AuditLog,
  globalMigrations,
  publishRoutingTable,
  RoutingFollower,
  routingRedisKeys,
  RoutingStore,
} from '@cellpay/global-data-access';
import { type CellRoute, evenlySpreadSnapshot, slotOf, slotRefusalReasons } from '@cellpay/routing';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { CellCallError, CellClient } from './__tests__/cell-client';
import { CellProcess, ensureCellBuilt } from './__tests__/cell-processes';
import { grpcCellReconciler, type CellReconciler } from './cell-reconciler';
import { migrateSlots, type MigrationDependencies } from './migrate-slots';
import { planMigration } from './migration-plan';
import { MigrationError, MigrationErrorCode } from './migration.exception';
import { opsRoutingEpochReader } from './routing-epoch-readers';

const cellIds = ['cell-1', 'cell-2'] as const;
const slotCount = 100;
const loadWorkers = 4;
/** Each worker waits this long between operations: 4 workers stay under 50 operations/s. */
const workerPauseMs = 85;
const loadDurationMsMax = 20_000;
const retriesPerOperationMax = 150;
const retryPauseMs = 100;
const retryableReasons = new Set<string>([
  slotRefusalReasons.frozen,
  slotRefusalReasons.notOwned,
  slotRefusalReasons.routerAhead,
  'router_saw_frozen_slot',
]);

interface Acknowledged {
  readonly kind: 'top_up' | 'transfer' | 'payment';
  readonly id: string;
  readonly cellId: string;
  /** Payments only: the merchant paid; a payment to a merchant who stays stays with them. */
  readonly merchant?: string;
}

/**
 * Online slot migration on the real stack: two cell processes on fresh databases on the shared
 * MariaDB primaries, the routing table in a fresh global database with Redis under a unique
 * prefix, and a client that routes by slot the way the gateway does (and, like it, retries the
 * retryable slot refusals).
 */
describe('migrate-slots on real cells', () => {
  const infra = readInfraEndpoints();
  const globalDatabase = uniqueName('mig_global');
  const cellDatabase = uniqueName('mig_cell');
  const redisPrefix = uniqueName('mig').replaceAll('_', '-').toLowerCase();
  const mysqlUrl = (port: number, database: string) =>
    `mysql://${infra.mysql.user}:${infra.mysql.password}@${infra.mysql.host}:${port}/${database}`;
  const pools = new Map<string, Pool>();
  const redisClients: Redis[] = [];
  const cells = new Map<string, CellProcess>();
  const clients = new Map<string, CellClient>();
  const funding = new Map<string, string>();
  let globalPool: Pool;
  let routing: RoutingStore;
  let follower: RoutingFollower;
  let reconcile: CellReconciler;
  let dependencies: Omit<MigrationDependencies, 'afterVerify'>;

  const redis = (): Redis => {
    const client = createRedis(infra.redis);
    redisClients.push(client);
    return client;
  };
  const shardPool = (cellId: string): Pool => {
    const pool = pools.get(cellId);
    if (pool === undefined) throw new Error(`no pool for ${cellId}`);
    return pool;
  };

  beforeAll(async () => {
    ensureCellBuilt();
    const admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${globalDatabase}\``);
    await admin.end();
    globalPool = createMysqlPool({
      ...infra.mysql,
      port: infra.global.port,
      database: globalDatabase,
    });
    await applyMigrations(globalPool, globalMigrations, globalDatabase);
    routing = new RoutingStore(globalPool);
    const routes: CellRoute[] = cellIds.map((cellId) => ({
      cellId,
      homeRegion: 'local',
      standbyRegion: 'local',
      activeRegion: 'local',
      state: 'active',
    }));
    const initial = await routing.initialize(evenlySpreadSnapshot(routes, slotCount), 'test');
    const publisher = redis();
    await publishRoutingTable(publisher, routingRedisKeys(redisPrefix), initial);
    for (const [index, cellId] of cellIds.entries()) {
      const primary = infra.cells[index]?.primary;
      if (primary === undefined) throw new Error(`the infrastructure has no ${cellId}`);
      const cellAdmin = createMysqlPool({ ...infra.mysql, port: primary.port });
      await cellAdmin.query(`CREATE DATABASE \`${cellDatabase}\``);
      await cellAdmin.end();
      pools.set(
        cellId,
        createMysqlPool({ ...infra.mysql, port: primary.port, database: cellDatabase }),
      );
      const cell = await CellProcess.start({
        cellId,
        mysqlUrl: mysqlUrl(primary.port, cellDatabase),
        globalMysqlUrl: mysqlUrl(infra.global.port, globalDatabase),
        redisUrl: `redis://${infra.redis.host}:${infra.redis.port}`,
        redisPrefix,
      });
      cells.set(cellId, cell);
    }
    for (const cell of cells.values()) {
      await pollUntil(() => cell.ready(), {
        timeoutMs: 30_000,
        description: `${cell.cellId} ready`,
      });
      const client = new CellClient(cell.address);
      clients.set(cell.cellId, client);
      const account = await client.call('account', 'openAccount', {
        kind: 'external_funding',
        ownerId: 'bank-of-tests',
        currency: 'CNY',
      });
      funding.set(cell.cellId, String(account['accountId']));
    }
    follower = new RoutingFollower(routing, redis(), redis(), {
      keys: routingRedisKeys(redisPrefix),
      redisPollIntervalMs: 200,
      databasePollIntervalMs: 1_000,
    });
    await follower.start();
    reconcile = grpcCellReconciler(new Map([...cells].map(([id, cell]) => [id, cell.address])));
    dependencies = {
      routing,
      publishRouting: async (table) => {
        await publishRoutingTable(publisher, routingRedisKeys(redisPrefix), table);
      },
      audit: new AuditLog(globalPool),
      shardPool,
      reconcile,
      // The drain asks the cell processes for the epoch they enforce (their ops `/routing`).
      routingEpochReaders: (cellId) => {
        const cell = cells.get(cellId);
        return cell === undefined
          ? []
          : [opsRoutingEpochReader(cellId, `127.0.0.1:${cell.opsPort}`)];
      },
    };
  }, 180_000);

  afterAll(async () => {
    await follower?.stop();
    for (const client of clients.values()) client.close();
    for (const cell of cells.values()) await cell.stop();
    for (const [cellId, pool] of pools) {
      await pool.query(`DROP DATABASE IF EXISTS \`${cellDatabase}\``).catch(() => undefined);
      await pool.end();
      pools.delete(cellId);
    }
    await globalPool?.query(`DROP DATABASE IF EXISTS \`${globalDatabase}\``).catch(() => undefined);
    await globalPool?.end();
    for (const client of redisClients) client.disconnect();
  });

  /** Users whose IDs hash to the given slot. */
  function usersIn(slot: number, count: number, tag: string): string[] {
    const found: string[] = [];
    for (let n = 0; found.length < count && n < 1_000_000; n += 1) {
      const candidate = `${tag}-${redisPrefix}-${n}`;
      if (slotOf(candidate, slotCount) === slot) found.push(candidate);
    }
    return found;
  }

  const refusals = new Map<string, number>();
  const unexpected: string[] = [];

  /**
   * Calls the cell that owns `slot` by the client's routing table, with the gateway's metadata;
   * retries (bounded) the retryable slot refusals, rebuilding the request for the cell it goes to.
   */
  async function routed(
    slot: number,
    service: 'account' | 'payment',
    method: string,
    request: (cellId: string) => object,
    ignoresFreeze = false,
  ): Promise<{ response: Record<string, unknown>; cellId: string }> {
    for (let attempt = 1; ; attempt += 1) {
      const table = follower.current();
      const decision = table.routeSlot(slot);
      try {
        // A router that ignores the freeze stands for a gateway that has not seen it yet: the
        // cell itself must refuse.
        if (decision.kind === 'frozen' && !ignoresFreeze) {
          throw new CellCallError(14, 'router_saw_frozen_slot', `slot ${slot} frozen`);
        }
        const client = clients.get(decision.cellId);
        if (client === undefined) throw new Error(`no client for ${decision.cellId}`);
        const response = await client.call(service, method, request(decision.cellId), {
          slot,
          epoch: table.epoch,
        });
        return { response, cellId: decision.cellId };
      } catch (error) {
        if (!(error instanceof CellCallError) || !retryableReasons.has(error.reason)) throw error;
        refusals.set(error.reason, (refusals.get(error.reason) ?? 0) + 1);
        if (attempt >= retriesPerOperationMax) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
      }
    }
  }

  async function openWallet(ownerId: string, kind: 'user_wallet' | 'merchant'): Promise<string> {
    const opened = await routed(slotOf(ownerId, slotCount), 'account', 'openAccount', () => ({
      kind,
      ownerId,
      currency: 'CNY',
    }));
    const accountId = String(opened.response['accountId']);
    accountOf.set(ownerId, accountId);
    expected.set(accountId, expected.get(accountId) ?? 0n);
    return accountId;
  }

  const requestId = () => randomBytes(12).toString('hex');

  const accountOf = new Map<string, string>();
  const expected = new Map<string, bigint>();
  const acknowledged: Acknowledged[] = [];
  const credit = (owner: string, amount: bigint) => {
    const account = accountOf.get(owner) ?? '';
    expected.set(account, (expected.get(account) ?? 0n) + amount);
  };

  const topUp = async (user: string, amount: bigint, stale = false) => {
    const id = requestId();
    const { response, cellId } = await routed(
      slotOf(user, slotCount),
      'account',
      'topUp',
      (cell) => ({
        clientId: 'migration-test',
        requestId: id,
        fromAccountId: funding.get(cell),
        toAccountId: accountOf.get(user),
        amountMinor: amount.toString(),
        currency: 'CNY',
      }),
      stale,
    );
    credit(user, amount);
    acknowledged.push({ kind: 'top_up', id: String(response['transferId']), cellId });
  };
  const transfer = async (from: string, to: string, amount: bigint, stale = false) => {
    const id = requestId();
    const { response, cellId } = await routed(
      slotOf(from, slotCount),
      'account',
      'transferMoney',
      () => ({
        clientId: 'migration-test',
        requestId: id,
        fromAccountId: accountOf.get(from),
        toAccountId: accountOf.get(to),
        amountMinor: amount.toString(),
        currency: 'CNY',
      }),
      stale,
    );
    credit(from, -amount);
    credit(to, amount);
    acknowledged.push({ kind: 'transfer', id: String(response['transferId']), cellId });
  };
  /** Pay (one step) or Authorize: the acknowledged payment's ID. */
  const createPayment = async (
    method: 'pay' | 'authorize',
    payer: string,
    merchant: string,
    amount: bigint,
    stale: boolean,
  ): Promise<string> => {
    const outTradeNo = requestId();
    const { response, cellId } = await routed(
      slotOf(payer, slotCount),
      'payment',
      method,
      () => ({
        merchantId: merchant,
        outTradeNo,
        payerAccountId: accountOf.get(payer),
        amountMinor: amount.toString(),
        currency: 'CNY',
        ttlSeconds: method === 'authorize' ? 600 : 0,
      }),
      stale,
    );
    const paymentId = String(response['paymentId']);
    acknowledged.push({ kind: 'payment', id: paymentId, cellId, merchant });
    return paymentId;
  };
  const pay = async (payer: string, merchant: string, amount: bigint, stale = false) => {
    await createPayment('pay', payer, merchant, amount, stale);
    credit(payer, -amount);
    credit(merchant, amount);
  };

  interface OpenAuthorization {
    readonly paymentId: string;
    readonly payer: string;
    readonly merchant: string;
    readonly amount: bigint;
  }
  /** Authorizations not captured yet, per payer group: their holds move with the slots. */
  const openAuthorizations = new Map<string, OpenAuthorization[]>();

  const authorize = async (payer: string, merchant: string, amount: bigint, stale = false) => {
    const paymentId = await createPayment('authorize', payer, merchant, amount, stale);
    const open = openAuthorizations.get(merchant) ?? [];
    open.push({ paymentId, payer, merchant, amount });
    openAuthorizations.set(merchant, open);
  };
  const capture = async (authorization: OpenAuthorization, stale = false) => {
    await routed(
      Number(authorization.paymentId.slice(4, 8)),
      'payment',
      'capturePayment',
      () => ({
        merchantId: authorization.merchant,
        paymentId: authorization.paymentId,
        amountMinor: authorization.amount.toString(),
      }),
      stale,
    );
    credit(authorization.payer, -authorization.amount);
    credit(authorization.merchant, authorization.amount);
  };

  async function countRows(cellId: string, table: string, id: string): Promise<number> {
    const [found] = await shardPool(cellId).query<RowDataPacket[]>(
      `SELECT COUNT(*) AS row_count FROM ${table} WHERE id = ?`,
      [id],
    );
    return Number(found[0]?.['row_count']);
  }

  async function accountsOfSlot(cellId: string, slot: number): Promise<number> {
    const [found] = await shardPool(cellId).query<RowDataPacket[]>(
      'SELECT COUNT(*) AS row_count FROM accounts WHERE id LIKE ?',
      [`acc\\_${String(slot).padStart(4, '0')}%`],
    );
    return Number(found[0]?.['row_count']);
  }

  async function balanceOf(cellId: string, accountId: string): Promise<bigint | undefined> {
    const [found] = await shardPool(cellId).query<RowDataPacket[]>(
      'SELECT balance_minor FROM accounts WHERE id = ?',
      [accountId],
    );
    const value = found[0]?.['balance_minor'];
    return value === undefined ? undefined : BigInt(String(value));
  }

  it('moves two slots under load: nothing lost or doubled, both cells reconcile, only retryable refusals', async () => {
    const cellOneSlots = follower.current().slotsOf('cell-1');
    const [slotA, slotB, slotStay] = cellOneSlots;
    if (slotA === undefined || slotB === undefined || slotStay === undefined)
      throw new Error('slots');
    const movingUsers = [...usersIn(slotA, 4, 'ua'), ...usersIn(slotB, 4, 'ub')];
    const stayingUsers = usersIn(slotStay, 4, 'us');
    const [movingMerchant] = usersIn(slotA, 1, 'ma');
    const [stayingMerchant] = usersIn(slotStay, 1, 'ms');
    if (movingMerchant === undefined || stayingMerchant === undefined) throw new Error('merchants');
    for (const user of [...movingUsers, ...stayingUsers]) {
      await openWallet(user, 'user_wallet');
    }
    for (const merchant of [movingMerchant, stayingMerchant]) {
      await openWallet(merchant, 'merchant');
    }
    // History that crosses the moving slots' border while both sides still share a cell.
    for (const user of [...movingUsers, ...stayingUsers]) await topUp(user, 1_000_000n);
    await pay(movingUsers[0] ?? '', stayingMerchant, 500n);
    await pay(stayingUsers[0] ?? '', movingMerchant, 700n);
    await transfer(stayingUsers[1] ?? '', movingUsers[1] ?? '', 300n);
    // A top-up whose reply the client will pretend to have lost, to retry it after the move.
    const replayedUser = movingUsers[2] ?? '';
    const replayedTopUp = {
      clientId: 'migration-test',
      requestId: requestId(),
      fromAccountId: funding.get('cell-1'),
      toAccountId: accountOf.get(replayedUser),
      amountMinor: '333',
      currency: 'CNY',
    };
    const original = await routed(
      slotOf(replayedUser, slotCount),
      'account',
      'topUp',
      () => replayedTopUp,
    );
    credit(replayedUser, 333n);
    acknowledged.push({
      kind: 'top_up',
      id: String(original.response['transferId']),
      cellId: original.cellId,
    });

    let loadRunning = true;
    let operations = 0;
    const pick = <T>(items: readonly T[]): T =>
      items[Math.floor(Math.random() * items.length)] as T;
    // The first worker routes like a gateway that has not seen the freeze yet.
    const worker = async (stale: boolean) => {
      while (loadRunning) {
        const moving = Math.random() < 0.6;
        const group = moving ? movingUsers : stayingUsers;
        const merchant = moving ? movingMerchant : stayingMerchant;
        const amount = BigInt(1 + Math.floor(Math.random() * 100));
        const choice = Math.random();
        try {
          const authorization =
            choice >= 0.85 ? openAuthorizations.get(merchant)?.shift() : undefined;
          if (authorization !== undefined) await capture(authorization, stale);
          else if (choice < 0.25) await topUp(pick(group), amount, stale);
          else if (choice < 0.5) {
            const from = pick(group);
            const to = pick(group.filter((user) => user !== from));
            await transfer(from, to, amount, stale);
          } else if (choice < 0.7) await authorize(pick(group), merchant, amount, stale);
          else await pay(pick(group), merchant, amount, stale);
        } catch (error) {
          unexpected.push(error instanceof Error ? error.message : String(error));
        }
        operations += 1;
        await new Promise((resolve) => setTimeout(resolve, workerPauseMs));
      }
    };
    const loadStarted = Date.now();
    const workers = Array.from({ length: loadWorkers }, (_, index) => worker(index === 0));
    const hardStop = setTimeout(() => {
      loadRunning = false;
    }, loadDurationMsMax);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const request = { slots: [slotA, slotB], targetCellId: 'cell-2', actor: 'migration-test' };
    const progress: string[] = [];
    const plan = await planMigration(request, dependencies);
    const summary = await migrateSlots(plan, request, {
      ...dependencies,
      onProgress: (event) => progress.push(`${event.elapsedMs} ${event.step} ${event.phase}`),
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    loadRunning = false;
    clearTimeout(hardStop);
    await Promise.all(workers);
    const loadMs = Date.now() - loadStarted;

    console.log(
      JSON.stringify(
        {
          outcome: summary.outcome,
          error: summary.error,
          freezeMs: summary.freezeMs,
          freezeConfirmation: summary.freezeConfirmation,
          durationMs: summary.durationMs,
          rounds: summary.rounds,
          rowsCopied: summary.rowsCopied,
          tables: summary.verification?.tables,
          clean: summary.clean,
          timeline: summary.timeline,
          operations,
          loadMs,
          operationsPerSecond: Math.round((operations * 1000) / loadMs),
          refusals: Object.fromEntries(refusals),
          unexpected: unexpected.slice(0, 5),
        },
        null,
        2,
      ),
    );

    expect(summary.error).toBeUndefined();
    expect(summary.outcome).toBe('completed');
    expect(summary.verification?.ok).toBe(true);
    expect(summary.lateWritesOnSource).toEqual([]);
    expect(summary.rowsCopied['holds']).toBeGreaterThan(0);
    expect(unexpected).toEqual([]);
    expect(loadMs).toBeLessThanOrEqual(loadDurationMsMax + 5_000);
    expect(operations * 1000).toBeLessThanOrEqual(50 * loadMs);

    const after = await routing.loadSnapshot();
    for (const slot of [slotA, slotB]) {
      expect(after?.slots.find((route) => route.slot === slot)).toEqual({
        slot,
        cellId: 'cell-2',
        state: 'active',
      });
    }
    expect(after?.slots.find((route) => route.slot === slotStay)).toEqual({
      slot: slotStay,
      cellId: 'cell-1',
      state: 'active',
    });

    // The retry reaches the target, which replays the stored reply (its idempotency record moved
    // with the account it credited) instead of crediting again.
    const retried = await routed(
      slotOf(replayedUser, slotCount),
      'account',
      'topUp',
      () => replayedTopUp,
    );
    expect(retried.cellId).toBe('cell-2');
    expect(retried.response).toEqual(original.response);

    // Every acknowledged operation exists exactly once, in the cell that owns it now.
    const moved = new Set([slotA, slotB]);
    for (const operation of acknowledged) {
      const table = operation.kind === 'payment' ? 'payments' : 'transfers';
      const slot = Number(operation.id.slice(4, 8));
      const staysWithMerchant =
        operation.merchant !== undefined && !moved.has(slotOf(operation.merchant, slotCount));
      const owner = moved.has(slot) && !staysWithMerchant ? 'cell-2' : operation.cellId;
      const other = owner === 'cell-1' ? 'cell-2' : 'cell-1';
      expect([operation.id, await countRows(owner, table, operation.id)]).toEqual([
        operation.id,
        1,
      ]);
      expect([operation.id, await countRows(other, table, operation.id)]).toEqual([
        operation.id,
        0,
      ]);
    }
    // Every account holds exactly what its acknowledged operations add up to, in its owning cell;
    // the source keeps the moved accounts at zero (its journals name them).
    for (const [owner, account] of accountOf) {
      const ownerCell = moved.has(slotOf(owner, slotCount)) ? 'cell-2' : 'cell-1';
      expect([owner, await balanceOf(ownerCell, account)]).toEqual([owner, expected.get(account)]);
      if (ownerCell === 'cell-2') expect(await balanceOf('cell-1', account)).toBe(0n);
    }
    for (const cellId of cellIds) {
      const report = await reconcile(cellId);
      expect([cellId, report.differences]).toEqual([cellId, []]);
      expect(report.clean).toBe(true);
    }
    const [sourceClearing] = await shardPool('cell-1').query<RowDataPacket[]>(
      "SELECT balance_minor FROM accounts WHERE kind = 'clearing' AND owner_id = 'cell-2'",
    );
    const [targetClearing] = await shardPool('cell-2').query<RowDataPacket[]>(
      "SELECT balance_minor FROM accounts WHERE kind = 'clearing' AND owner_id = 'cell-1'",
    );
    // The two clearing accounts of the pair net to zero: nothing is in flight between them.
    expect(
      BigInt(String(sourceClearing[0]?.['balance_minor'])) +
        BigInt(String(targetClearing[0]?.['balance_minor'])),
    ).toBe(0n);
    expect([...refusals.keys()].every((reason) => retryableReasons.has(reason))).toBe(true);

    // Moving the slots back is refused: the old cell still holds their zero-balance accounts.
    await expect(
      planMigration({ ...request, targetCellId: 'cell-1' }, dependencies),
    ).rejects.toMatchObject({ code: MigrationErrorCode.TargetHasRowsInSlots });
  }, 120_000);

  it('refuses plans and routing steps that do not match the table, changing nothing', async () => {
    const before = await routing.loadSnapshot();
    const [cellOneSlot] = follower.current().slotsOf('cell-1');
    const [cellTwoSlot] = follower.current().slotsOf('cell-2');
    if (cellOneSlot === undefined || cellTwoSlot === undefined || before === undefined) {
      throw new Error('no slots');
    }
    const actor = 'migration-test';
    await expect(
      planMigration(
        { slots: [cellOneSlot, cellTwoSlot], targetCellId: 'cell-2', actor },
        dependencies,
      ),
    ).rejects.toMatchObject({ code: MigrationErrorCode.SlotNotOwnedBySource });
    await expect(
      planMigration({ slots: [cellOneSlot], targetCellId: 'cell-1', actor }, dependencies),
    ).rejects.toMatchObject({ code: MigrationErrorCode.SlotsInvalid });
    await expect(
      planMigration({ slots: [cellOneSlot], targetCellId: 'cell-9', actor }, dependencies),
    ).rejects.toMatchObject({ code: MigrationErrorCode.SlotsInvalid });
    await expect(
      planMigration({ slots: [slotCount], targetCellId: 'cell-2', actor }, dependencies),
    ).rejects.toMatchObject({ code: MigrationErrorCode.SlotsInvalid });
    const change = { actor, action: 'test', subject: 'test' };
    await expect(routing.freezeSlotsOf([cellTwoSlot], 'cell-1', change)).rejects.toThrow(
      `slot ${cellTwoSlot} is active on cell-2, expected active on cell-1`,
    );
    await expect(
      routing.moveFrozenSlots([cellOneSlot], 'cell-1', 'cell-2', change),
    ).rejects.toThrow('expected frozen on cell-1');
    await expect(routing.unfreezeSlotsOf([cellOneSlot], 'cell-1', change)).rejects.toThrow(
      'expected frozen on cell-1',
    );
    expect(await routing.loadSnapshot()).toEqual(before);
  });

  it('finds a balance changed on the target behind its back, names the account, and aborts', async () => {
    const slot = follower.current().slotsOf('cell-1').at(-4);
    if (slot === undefined) throw new Error('no slot');
    const [user] = usersIn(slot, 1, 'tamper');
    if (user === undefined) throw new Error('no user');
    await openWallet(user, 'user_wallet');
    await topUp(user, 1_000n);
    const account = accountOf.get(user) ?? '';
    const before = await routing.loadSnapshot();
    const request = { slots: [slot], targetCellId: 'cell-2', actor: 'migration-test' };
    const plan = await planMigration(request, dependencies);
    const summary = await migrateSlots(plan, request, {
      ...dependencies,
      afterStep: async (step) => {
        if (step !== 'final-copy') return;
        // The 2008 lesson: a balance edited up by 7 must show as +7 on exactly that account.
        await shardPool('cell-2').query(
          'UPDATE accounts SET balance_minor = balance_minor + 7 WHERE id = ?',
          [account],
        );
      },
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.error?.code).toBe(MigrationErrorCode.VerificationFailed);
    expect(summary.verification?.ok).toBe(false);
    expect(summary.verification?.mismatches).toEqual(
      expect.arrayContaining([
        `accounts ${account}: differs or missing on the target`,
        `account ${account} on the target: balance 1007 but its lines net 1000`,
        'balanceMinor sum CNY: 1000 vs 1007',
      ]),
    );
    expect((await routing.loadSnapshot())?.slots).toEqual(before?.slots);
    expect(await balanceOf('cell-2', account)).toBeUndefined();
    expect(await balanceOf('cell-1', account)).toBe(1_000n);
  }, 60_000);

  it('fails when a process of the source stays behind the freeze: slots unfrozen, source whole', async () => {
    const slot = follower.current().slotsOf('cell-1').at(-4);
    if (slot === undefined) throw new Error('no slot');
    const users = usersIn(slot, 2, 'lagging');
    for (const user of users) await openWallet(user, 'user_wallet');
    for (const user of users) await topUp(user, 4_000n);
    const before = await routing.loadSnapshot();
    if (before === undefined) throw new Error('no routing table');
    const request = { slots: [slot], targetCellId: 'cell-2', actor: 'migration-test' };
    const plan = await planMigration(request, dependencies);
    const real = dependencies.routingEpochReaders?.('cell-1') ?? [];
    // A second process of cell-1 (think of a relay whose follower lost Redis) still enforces
    // the epoch before the freeze.
    const summary = await migrateSlots(plan, request, {
      ...dependencies,
      routingEpochReaders: () => [
        ...real,
        { name: 'cell-1 relay (lagging)', read: () => Promise.resolve(before.epoch) },
      ],
      limits: { followersWaitMsMax: 1_000 },
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.error?.code).toBe(MigrationErrorCode.RoutingFollowersBehind);
    expect(summary.error?.message).toContain(
      `cell-1 relay (lagging) enforces epoch ${before.epoch}`,
    );
    expect(summary.timeline.map((entry) => entry.step)).not.toContain('lock-source');
    const after = await routing.loadSnapshot();
    expect(after?.slots).toEqual(before.slots);
    expect(after?.epoch).toBe(before.epoch + 2n);
    for (const user of users) {
      expect(await balanceOf('cell-1', accountOf.get(user) ?? '')).toBe(4_000n);
    }
    expect(await accountsOfSlot('cell-2', slot)).toBe(0);
  }, 60_000);

  it("stops at the operator's interrupt: slots unfrozen, nothing left on the target", async () => {
    const slot = follower.current().slotsOf('cell-1').at(-3);
    if (slot === undefined) throw new Error('no slot');
    const users = usersIn(slot, 2, 'interrupt');
    for (const user of users) await openWallet(user, 'user_wallet');
    for (const user of users) await topUp(user, 5_000n);
    const before = await routing.loadSnapshot();
    const request = { slots: [slot], targetCellId: 'cell-2', actor: 'migration-test' };
    const plan = await planMigration(request, dependencies);
    const interrupt = new AbortController();
    const summary = await migrateSlots(plan, request, {
      ...dependencies,
      signal: interrupt.signal,
      onProgress: (event) => {
        if (event.step === 'freeze' && event.phase === 'done') interrupt.abort();
      },
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.error?.code).toBe(MigrationErrorCode.AbortedByOperator);
    expect(summary.timeline.map((entry) => entry.step)).not.toContain('flip');
    const after = await routing.loadSnapshot();
    expect(after?.slots).toEqual(before?.slots);
    expect(await accountsOfSlot('cell-2', slot)).toBe(0);
    for (const user of users) {
      expect(await balanceOf('cell-1', accountOf.get(user) ?? '')).toBe(5_000n);
    }
    const [audit] = await globalPool.query<RowDataPacket[]>(
      "SELECT action FROM audit_log WHERE action LIKE 'slots.%' ORDER BY audit_id DESC LIMIT 3",
    );
    expect(audit.map((row) => row['action'])).toEqual([
      'slots.migrate.aborted',
      'slots.unfreeze',
      'slots.freeze',
    ]);
  }, 60_000);

  it('an abort after the copy leaves the source authoritative, the target clean and the routing unchanged', async () => {
    const slot = follower.current().slotsOf('cell-1').at(-1);
    const merchantSlot = follower.current().slotsOf('cell-1').at(-2);
    if (slot === undefined || merchantSlot === undefined) throw new Error('no slot');
    // Its own history: top-ups, a transfer inside the slot, a payment to a merchant that stays.
    const users = usersIn(slot, 3, 'abort');
    const [merchant] = usersIn(merchantSlot, 1, 'abort-merchant');
    if (merchant === undefined) throw new Error('no merchant');
    for (const user of users) await openWallet(user, 'user_wallet');
    await openWallet(merchant, 'merchant');
    for (const user of users) await topUp(user, 10_000n);
    await transfer(users[0] ?? '', users[1] ?? '', 250n);
    await pay(users[2] ?? '', merchant, 400n);
    const before = await routing.loadSnapshot();
    if (before === undefined) throw new Error('no routing table');
    const [sourceBefore] = await shardPool('cell-1').query<RowDataPacket[]>(
      'SELECT id, balance_minor, held_minor FROM accounts ORDER BY id',
    );
    expect(sourceBefore.length).toBeGreaterThan(0);
    const request = { slots: [slot], targetCellId: 'cell-2', actor: 'migration-test' };
    const plan = await planMigration(request, dependencies);
    expect(plan.sourceRows['accounts']).toBeGreaterThan(0);
    const summary = await migrateSlots(plan, request, {
      ...dependencies,
      afterVerify: () => {
        throw new MigrationError(MigrationErrorCode.VerificationFailed, 'injected by the test');
      },
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.error?.code).toBe('verification_failed');
    expect(summary.verification?.ok).toBe(true);
    expect(summary.rowsCopied['accounts']).toBeGreaterThan(0);
    expect(summary.timeline.map((entry) => entry.step)).toEqual(
      expect.arrayContaining(['freeze', 'verify', 'abort-rollback', 'drop-copy', 'unfreeze']),
    );

    const after = await routing.loadSnapshot();
    expect(after?.slots).toEqual(before.slots);
    expect(after?.epoch).toBe(before.epoch + 2n);
    const [sourceAfter] = await shardPool('cell-1').query<RowDataPacket[]>(
      'SELECT id, balance_minor, held_minor FROM accounts ORDER BY id',
    );
    expect(sourceAfter).toEqual(sourceBefore);
    const emptied = await planMigration(request, dependencies);
    expect(emptied.sourceRows).toEqual(plan.sourceRows);
    for (const table of ['accounts', 'payments', 'transfers', 'journal_lines']) {
      const column = table === 'journal_lines' ? 'account_id' : 'id';
      const prefix = table === 'payments' ? 'pay' : table === 'transfers' ? 'trf' : 'acc';
      const [found] = await shardPool('cell-2').query<RowDataPacket[]>(
        `SELECT COUNT(*) AS row_count FROM ${table} WHERE ${column} LIKE ?`,
        [`${prefix}\\_${String(slot).padStart(4, '0')}%`],
      );
      expect([table, Number(found[0]?.['row_count'])]).toEqual([table, 0]);
    }
    for (const cellId of cellIds) {
      const report = await reconcile(cellId);
      expect([cellId, report.differences]).toEqual([cellId, []]);
    }
  }, 60_000);
});
