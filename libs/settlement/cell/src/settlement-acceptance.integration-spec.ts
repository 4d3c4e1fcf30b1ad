import type { Admin, Kafka, Producer } from 'kafkajs';

import { AccountKind } from '@cellpay/cell-domain';
import { DeadLetterQueue } from '@cellpay/settlement-messaging';
import { pollUntil, uniqueName } from '@cellpay/testing';

import { reconcileGlobal } from './global-reconciliation';
import { MysqlRelayLeaderLock, relayLockName } from './mysql/mysql-relay-leader-lock';
import {
  CellSettlementProcess,
  DeliveryLog,
  dropRealCells,
  openTestKafka,
  startSettlementProcesses,
  type TestKafka,
  type RealCell,
  startRealCells,
} from './__tests__/real-cells.fixture';
import { payerAndMerchant, slotRouter, userOn } from './__tests__/settlement-cell.harness';

/** The bank workload: operations in all (env `CELLPAY_SETTLEMENT_OPERATIONS`), clients at once. */
const operationCount = Number(process.env['CELLPAY_SETTLEMENT_OPERATIONS'] ?? '3000');
const clientCount = 12;
const walletsPerCell = 20;
const merchantsPerCell = 3;
const topUpMinor = 10_000_000n;
const amountMinorMax = 500;
/** Relay kills (between publish and mark) and consumer kills (between apply and commit). */
const killsEach = 3;
const quiescenceTimeoutMs = Number(process.env['CELLPAY_SETTLEMENT_QUIESCENCE_MS'] ?? '300000');

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Party {
  readonly cell: RealCell;
  readonly ownerId: string;
  readonly accountId: string;
}

describe('cross-cell settlement on real MariaDB shards and real Kafka (3 cells)', () => {
  const router = slotRouter(['cell-1', 'cell-2', 'cell-3']);
  let testKafka: TestKafka | undefined;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let cells: RealCell[];
  let prefix: string;
  let processes: CellSettlementProcess[];
  const log = new DeliveryLog();

  beforeAll(async () => {
    testKafka = await openTestKafka('settlement-acceptance', 'stlacc');
    ({ kafka, admin, producer, prefix } = testKafka);
    cells = await startRealCells(router);
    processes = await startSettlementProcesses(cells, kafka, admin, producer, prefix, log);
  }, 120_000);

  afterAll(async () => {
    for (const process of processes ?? []) await process.stop();
    if (cells !== undefined) await dropRealCells(cells);
    await testKafka?.close();
  }, 120_000);

  const cellOf = (id: string): RealCell => {
    const cell = cells.find((candidate) => candidate.cellId === id);
    if (cell === undefined) throw new Error(`no ${id}`);
    return cell;
  };

  it('keeps only one relay replica of a cell publishing at a time', async () => {
    const cell = cellOf('cell-1');
    const rival = new MysqlRelayLeaderLock(cell.pool, relayLockName(cell.database));
    expect(await cell.lock.holds()).toBe(true);
    expect(await rival.holds()).toBe(false);
    // The leader goes away (its connection, and with it the lock): the rival takes over.
    await cell.lock.release();
    expect(await rival.holds()).toBe(true);
    expect(await cell.lock.holds()).toBe(false);
    await rival.release();
    expect(await cell.lock.holds()).toBe(true);
  });

  it('settles a concurrent bank workload exactly once through relay and consumer kills', async () => {
    const random = seededRandom(20_260_501);
    const wallets = new Map<string, Party[]>();
    const merchants = new Map<string, Party[]>();
    let fundedMinor = 0n;
    const expected = new Map<string, bigint>();
    for (const [index, cell] of cells.entries()) {
      const funding = await cell.accounts.openAccount({
        kind: AccountKind.ExternalFunding,
        ownerId: 'bank',
        currency: 'CNY',
      });
      const open = async (kind: AccountKind, prefixOfUser: string): Promise<Party> => {
        const ownerId = userOn(router, cell.cellId, prefixOfUser);
        const account = await cell.accounts.openAccount({ kind, ownerId, currency: 'CNY' });
        return { cell, ownerId, accountId: account.accountId };
      };
      const cellWallets: Party[] = [];
      for (let n = 0; n < walletsPerCell; n++) {
        const wallet = await open(AccountKind.UserWallet, `w${index}x${n}`);
        await cell.accounts.topUp({
          clientId: 'bank',
          requestId: `fund-${wallet.accountId}`,
          fromAccountId: funding.accountId,
          toAccountId: wallet.accountId,
          amountMinor: topUpMinor.toString(),
          currency: 'CNY',
        });
        fundedMinor += topUpMinor;
        expected.set(wallet.accountId, topUpMinor);
        cellWallets.push(wallet);
      }
      const cellMerchants: Party[] = [];
      for (let n = 0; n < merchantsPerCell; n++) {
        const merchant = await open(AccountKind.Merchant, `m${index}x${n}`);
        expected.set(merchant.accountId, 0n);
        cellMerchants.push(merchant);
      }
      wallets.set(cell.cellId, cellWallets);
      merchants.set(cell.cellId, cellMerchants);
    }
    const pick = <T>(items: readonly T[]): T => {
      const item = items[Math.floor(random() * items.length)];
      if (item === undefined) throw new Error('empty');
      return item;
    };
    const move = (from: string, to: string, amountMinor: bigint): void => {
      expected.set(from, (expected.get(from) ?? 0n) - amountMinor);
      expected.set(to, (expected.get(to) ?? 0n) + amountMinor);
    };
    const acknowledgedCrossCell: { readonly cell: RealCell; readonly sagaId: string }[] = [];
    let acknowledged = 0;
    let crossCellAttempted = 0;
    const refusals = new Map<string, number>();
    const plan = Array.from({ length: operationCount }, (_, n) => {
      const payerCell = pick(cells);
      const otherCells = cells.filter((cell) => cell !== payerCell);
      const roll = random();
      const crossCell = roll < 0.5;
      const targetCell = crossCell ? pick(otherCells) : payerCell;
      const toMerchant = roll < 0.25 || roll >= 0.75;
      const payer = pick(wallets.get(payerCell.cellId) ?? []);
      // A wallet never pays itself: pick among the others of the target cell.
      const payees = ((toMerchant ? merchants : wallets).get(targetCell.cellId) ?? []).filter(
        (party) => party !== payer,
      );
      return {
        n,
        payer,
        payee: pick(payees),
        crossCell,
        toMerchant,
        amountMinor: BigInt(1 + Math.floor(random() * amountMinorMax)),
      };
    });
    const runOne = async (op: (typeof plan)[number]): Promise<void> => {
      const cell = op.payer.cell;
      const amountMinor = op.amountMinor.toString();
      if (op.crossCell) crossCellAttempted += 1;
      try {
        if (op.crossCell) {
          const saga = op.toMerchant
            ? await cell.crossCell.pay({
                merchantId: op.payee.ownerId,
                outTradeNo: `op-${op.n}`,
                payerAccountId: op.payer.accountId,
                amountMinor,
                currency: 'CNY',
              })
            : await cell.crossCell.transfer({
                clientId: 'bank',
                requestId: `op-${op.n}`,
                fromAccountId: op.payer.accountId,
                toAccountId: op.payee.accountId,
                amountMinor,
                currency: 'CNY',
              });
          expect(saga.state).toBe('settling');
          acknowledgedCrossCell.push({ cell, sagaId: saga.sagaId });
        } else if (op.toMerchant) {
          await cell.payments.pay({
            merchantId: op.payee.ownerId,
            outTradeNo: `op-${op.n}`,
            payerAccountId: op.payer.accountId,
            amountMinor,
            currency: 'CNY',
          });
        } else {
          await cell.accounts.transfer({
            clientId: 'bank',
            requestId: `op-${op.n}`,
            fromAccountId: op.payer.accountId,
            toAccountId: op.payee.accountId,
            amountMinor,
            currency: 'CNY',
          });
        }
        move(op.payer.accountId, op.payee.accountId, op.amountMinor);
        acknowledged += 1;
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? error);
        refusals.set(code, (refusals.get(code) ?? 0) + 1);
      }
    };

    // Kills while the load runs: a relay between publish and mark, a consumer between apply and
    // commit, each then restarted as a new instance (the process restart).
    let loadDone = false;
    const killer = (async () => {
      for (let kill = 0; kill < killsEach && !loadDone; kill++) {
        const victim = processes[kill % processes.length];
        if (victim === undefined) break;
        const relayCrashes = victim.outbox.crashes;
        victim.outbox.crashBeforeNextMark = true;
        await pollUntil(() => victim.outbox.crashes > relayCrashes || loadDone, {
          timeoutMs: 60_000,
          description: 'relay crash',
        });
        await victim.stopRelay();
        victim.startRelay();
        const consumerCrashes = victim.consumerCrashes;
        victim.crashBeforeNextCommit = true;
        await pollUntil(() => victim.consumerCrashes > consumerCrashes || loadDone, {
          timeoutMs: 60_000,
          description: 'consumer crash',
        });
        await victim.stopConsumer();
        await victim.startConsumer();
      }
    })();

    const startedMs = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: clientCount }, async () => {
        while (next < plan.length) {
          const op = plan[next++];
          if (op !== undefined) await runOne(op);
        }
      }),
    );
    const loadMs = Date.now() - startedMs;
    loadDone = true;
    await killer;

    await pollUntil(
      async () => {
        for (const cell of cells) {
          if ((await cell.source.depth()) > 0) return false;
          const [rows] = await cell.pool.query(
            "SELECT COUNT(*) AS n FROM settlement_sagas WHERE state IN ('settling', 'pending')",
          );
          if (Number((rows as { n: unknown }[])[0]?.n) > 0) return false;
        }
        return true;
      },
      { timeoutMs: quiescenceTimeoutMs, intervalMs: 500, description: 'quiescence' },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; errors seen: ${log.errors.join(' | ')}`);
    });
    const settledMs = Date.now() - startedMs;

    // Exactly once: every customer balance is what the acknowledged operations say.
    let customerTotal = 0n;
    let mismatches = 0;
    for (const party of [...wallets.values(), ...merchants.values()].flat()) {
      const actual = BigInt((await party.cell.accounts.balance(party.accountId)).balanceMinor);
      const wanted = expected.get(party.accountId);
      if (actual !== wanted) mismatches += 1;
      customerTotal += actual;
    }
    let lost = 0;
    for (const { cell, sagaId } of acknowledgedCrossCell) {
      if ((await cell.crossCell.saga(sagaId)).state !== 'settled') lost += 1;
      if (!log.applied.has(`${sagaId}.credit_requested`)) lost += 1;
    }
    const report = await reconcileGlobal(cells);
    const perCell = await Promise.all(cells.map((cell) => cell.accounting.reconcile()));
    const counts = {
      operations: operationCount,
      acknowledged,
      crossCellAcknowledged: acknowledgedCrossCell.length,
      crossCellPercent: Math.round((1_000 * crossCellAttempted) / operationCount) / 10,
      refusals: Object.fromEntries(refusals),
      relayKills: processes.reduce((sum, process) => sum + process.outbox.crashes, 0),
      consumerKills: processes.reduce((sum, process) => sum + process.consumerCrashes, 0),
      duplicatesDelivered: log.duplicates,
      appliedTwice: log.appliedTwice(),
      lost,
      balanceMismatches: mismatches,
      settlementLagMs: { p50: log.percentileMs(0.5), p99: log.percentileMs(0.99) },
      loadSeconds: loadMs / 1000,
      settledSeconds: settledMs / 1000,
      clearingPairs: report.pairs.map(
        (pair) => `${pair.cellA}/${pair.cellB} ${pair.currency} net ${pair.clearingNetMinor}`,
      ),
    };
    process.stdout.write(`settlement acceptance: ${JSON.stringify(counts, null, 2)}\n`);

    expect(counts.crossCellPercent).toBeGreaterThanOrEqual(40);
    expect(counts.relayKills).toBeGreaterThanOrEqual(killsEach);
    expect(counts.consumerKills).toBeGreaterThanOrEqual(killsEach);
    expect(counts.appliedTwice).toBe(0);
    expect(lost).toBe(0);
    expect(mismatches).toBe(0);
    expect(customerTotal).toBe(fundedMinor);
    expect(report).toMatchObject({ clean: true, quiet: true });
    for (const pair of report.pairs) expect(pair.clearingNetMinor).toBe('0');
    for (const cellReport of perCell)
      expect(cellReport).toMatchObject({ clean: true, differenceCount: 0 });
    expect(acknowledged + [...refusals.values()].reduce((sum, n) => sum + n, 0)).toBe(
      operationCount,
    );
    expect(acknowledged).toBeGreaterThan(operationCount * 0.99);
  }, 900_000);

  it('dead-letters a poison event without blocking others, and replays it once after the fix', async () => {
    const a = cellOf('cell-1');
    const b = cellOf('cell-2');
    const ghost = userOn(router, 'cell-2', uniqueName('ghost'));
    const {
      merchantId: merchant,
      merchantAccountId,
      payerAccountId,
    } = await payerAndMerchant(router, a, b, uniqueName('poison'), '10000');
    const pay = (merchantId: string, outTradeNo: string, amountMinor: string) =>
      a.crossCell.pay({
        merchantId,
        outTradeNo,
        payerAccountId,
        amountMinor,
        currency: 'CNY',
      });
    const poison = await pay(ghost, 'poison-1', '700');
    const behind = [await pay(merchant, 'after-1', '10'), await pay(merchant, 'after-2', '20')];

    await pollUntil(
      async () =>
        (await Promise.all(behind.map((saga) => a.crossCell.saga(saga.sagaId)))).every(
          (saga) => saga.state === 'settled',
        ),
      { timeoutMs: 60_000, description: 'events behind the poison settled' },
    );
    const dlq = new DeadLetterQueue(kafka, producer, {
      cellId: 'cell-2',
      topicPrefix: prefix,
      batchMax: 100,
      readTimeoutMs: 30_000,
    });
    await pollUntil(async () => (await dlq.depth()) === 1, {
      timeoutMs: 30_000,
      description: 'dead letter',
    });
    const [letter] = await dlq.pending();
    expect(letter).toMatchObject({ eventId: `${poison.sagaId}.credit_requested` });
    expect(letter?.error).toMatch(/^account_not_found/);
    expect((await a.crossCell.saga(poison.sagaId)).state).toBe('settling');
    const inFlight = await reconcileGlobal(cells);
    expect(inFlight).toMatchObject({ clean: true, quiet: false });
    expect(
      inFlight.pairs
        .find((pair) => pair.cellA === 'cell-1' && pair.cellB === 'cell-2')
        ?.inFlight.map((e) => e.eventId),
    ).toEqual([`${poison.sagaId}.credit_requested`]);

    // The fix: the merchant's account is opened; replay applies the event once.
    const ghostAccount = await b.accounts.openAccount({
      kind: AccountKind.Merchant,
      ownerId: ghost,
      currency: 'CNY',
    });
    expect(await dlq.replay()).toEqual({ replayed: 1 });
    await pollUntil(async () => (await a.crossCell.saga(poison.sagaId)).state === 'settled', {
      timeoutMs: 60_000,
      description: 'replayed poison settled',
    });
    expect(await dlq.replay()).toEqual({ replayed: 0 });
    expect((await b.accounts.balance(ghostAccount.accountId)).balanceMinor).toBe('700');
    expect((await b.accounts.balance(merchantAccountId)).balanceMinor).toBe('30');
    expect(log.applied.get(`${poison.sagaId}.credit_requested`)).toBe(1);
    expect(await reconcileGlobal(cells)).toMatchObject({ clean: true, quiet: true });
  }, 300_000);
});
