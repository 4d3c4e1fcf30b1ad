import { liveTables, migrateCellShard, MysqlCellStore } from '@cellpay/cell-data-access';
import { createTestShard, type TestShard } from '@cellpay/cell-testing';

import { type CellUnderTest, startCell } from './__tests__/cell-harness';

/** The load: clients working at once, operations in all, accounts they share. */
const clientCount = 50;
const operationCount = 10_000;
const walletCount = 80;
const merchantCount = 20;
const topUpMinor = 50_000n;
const loadTimeoutMs = 540_000;

/** Refusals the rules produce under random load; anything else fails the test. */
const expectedRefusals = new Set([
  'insufficient_funds',
  'refund_exceeds_captured',
  // Retryable (gRPC ABORTED): lock contention outlasted the bounded retries. It can happen when
  // the shared machine stalls the shard (a semi-sync commit waits on a busy replica while holding
  // its row locks); the books must balance regardless, and it must stay rare.
  'transaction_retries_exhausted',
]);
/** The most operations that may end in `transaction_retries_exhausted`. */
const retriesExhaustedMax = operationCount / 100;

/** A seeded generator (mulberry32) so a failing run can be replayed exactly. */
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

describe('cell under concurrent load on real MariaDB', () => {
  let shard: TestShard;
  let cell: CellUnderTest;

  beforeAll(async () => {
    shard = await createTestShard((pool) => migrateCellShard(pool, liveTables), {
      connectionsMax: 24,
      queuedRequestsMax: 1_000,
      connectTimeoutMs: 5_000,
    });
    cell = await startCell(new MysqlCellStore(shard.pool), 'L');
  });
  afterAll(async () => {
    await cell.close();
    await shard.drop();
  });

  it(
    `${clientCount} clients, ${operationCount} random transfers, pays, captures and refunds: books balance`,
    async () => {
      const random = seededRandom(20261121);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const amount = (max: number): string => String(1 + Math.floor(random() * max));

      const funding = (
        await cell.accounts.openAccount({
          kind: 'external_funding',
          ownerId: 'bank-load',
          currency: 'CNY',
        })
      ).accountId;
      const wallets: string[] = [];
      for (let index = 0; index < walletCount; index++) {
        const wallet = (
          await cell.accounts.openAccount({
            kind: 'user_wallet',
            ownerId: `load-user-${index}`,
            currency: 'CNY',
          })
        ).accountId;
        wallets.push(wallet);
        await cell.accounts.topUp({
          clientId: 'load',
          requestId: `top-up-${index}`,
          fromAccountId: funding,
          toAccountId: wallet,
          amountMinor: topUpMinor.toString(),
          currency: 'CNY',
        });
      }
      const merchants: string[] = [];
      for (let index = 0; index < merchantCount; index++) {
        merchants.push(`load-merchant-${index}`);
        await cell.accounts.openAccount({
          kind: 'merchant',
          ownerId: `load-merchant-${index}`,
          currency: 'CNY',
        });
      }

      const authorized: { paymentId: string; merchantId: string; amountMinor: bigint }[] = [];
      const captured: { paymentId: string; merchantId: string }[] = [];
      const outcomes = new Map<string, number>();
      const count = (name: string): void => {
        outcomes.set(name, (outcomes.get(name) ?? 0) + 1);
      };
      let next = 0;

      async function operation(index: number): Promise<void> {
        const roll = random();
        if (roll < 0.35) {
          const from = pick(wallets);
          const to = pick(wallets.filter((wallet) => wallet !== from));
          await cell.accounts.transfer({
            clientId: 'load',
            requestId: `t-${index}`,
            fromAccountId: from,
            toAccountId: to,
            amountMinor: amount(3_000),
            currency: 'CNY',
          });
          count('transfer');
        } else if (roll < 0.6) {
          const merchantId = pick(merchants);
          const payment = await cell.payments.pay({
            merchantId,
            outTradeNo: `p-${index}`,
            payerAccountId: pick(wallets),
            amountMinor: amount(3_000),
            currency: 'CNY',
          });
          captured.push({ paymentId: payment.paymentId, merchantId });
          count('pay');
        } else if (roll < 0.75) {
          const merchantId = pick(merchants);
          const amountMinor = BigInt(1 + Math.floor(random() * 3_000));
          const payment = await cell.payments.authorize({
            merchantId,
            outTradeNo: `a-${index}`,
            payerAccountId: pick(wallets),
            amountMinor: String(amountMinor),
            currency: 'CNY',
            ttlSeconds: 3_600,
          });
          authorized.push({ paymentId: payment.paymentId, merchantId, amountMinor });
          count('authorize');
        } else if (roll < 0.87 && authorized.length > 0) {
          const [target] = authorized.splice(Math.floor(random() * authorized.length), 1);
          if (target === undefined) return;
          // The same draw as before, kept in bigint: 1 to the authorized amount.
          const captureMinor = 1n + BigInt(Math.floor(random() * Number(target.amountMinor)));
          await cell.payments.capture({
            merchantId: target.merchantId,
            paymentId: target.paymentId,
            amountMinor: String(captureMinor),
          });
          captured.push(target);
          count('capture');
        } else if (captured.length > 0) {
          const target = pick(captured);
          await cell.payments.refund({
            merchantId: target.merchantId,
            paymentId: target.paymentId,
            outRefundNo: `r-${index}`,
            amountMinor: amount(1_500),
          });
          count('refund');
        } else {
          count('skipped');
        }
      }

      async function client(): Promise<void> {
        for (let index = next++; index < operationCount; index = next++) {
          try {
            await operation(index);
          } catch (error) {
            const code = (error as { code?: string }).code ?? String(error);
            if (!expectedRefusals.has(code)) {
              process.stdout.write(
                `load: unexpected failure of operation ${index}: ${String(error)}\n`,
              );
              throw error;
            }
            count(`refused:${code}`);
          }
        }
      }

      const startedMs = Date.now();
      await Promise.all(Array.from({ length: clientCount }, () => client()));
      const elapsedMs = Date.now() - startedMs;

      const report = await cell.accounting.reconcile();
      const total = { customerMinor: 0n, fundingMinor: 0n, negative: 0 };
      for (const accountId of [...wallets, funding]) {
        const view = await cell.accounts.balance(accountId);
        if (BigInt(view.availableMinor) < 0n && view.kind !== 'external_funding')
          total.negative += 1;
        if (view.kind === 'external_funding') total.fundingMinor += BigInt(view.balanceMinor);
        else total.customerMinor += BigInt(view.balanceMinor);
      }
      const merchantAccountIds = report.accountsChecked - wallets.length - 1;
      for (const merchantId of merchants) {
        const account = await cell.accounts.openAccount({
          kind: 'merchant',
          ownerId: merchantId,
          currency: 'CNY',
        });
        if (BigInt(account.availableMinor) < 0n) total.negative += 1;
        total.customerMinor += BigInt(account.balanceMinor);
      }
      process.stdout.write(
        `load: ${operationCount} operations by ${clientCount} clients in ${elapsedMs} ms ` +
          `(${Math.round((operationCount * 1000) / elapsedMs)} ops/s); ${JSON.stringify(Object.fromEntries(outcomes))}; ` +
          `reconciliation checked ${report.accountsChecked} accounts, ${report.journalsChecked} journals, ` +
          `${report.paymentsChecked} payments, ${report.refundsChecked} refunds\n`,
      );

      expect(report.differences).toEqual([]);
      expect(report.clean).toBe(true);
      expect(merchantAccountIds).toBe(merchantCount);
      expect(total.negative).toBe(0);
      expect(total.customerMinor).toBe(topUpMinor * BigInt(walletCount));
      expect(total.fundingMinor).toBe(-topUpMinor * BigInt(walletCount));
      expect(outcomes.get('refused:transaction_retries_exhausted') ?? 0).toBeLessThanOrEqual(
        retriesExhaustedMax,
      );
      expect(outcomes.get('pay') ?? 0).toBeGreaterThan(1_000);
      expect(outcomes.get('refund') ?? 0).toBeGreaterThan(100);
      expect(outcomes.get('capture') ?? 0).toBeGreaterThan(100);
    },
    loadTimeoutMs,
  );
});
