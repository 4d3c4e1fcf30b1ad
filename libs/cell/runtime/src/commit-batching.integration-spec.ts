import type { RowDataPacket } from 'mysql2/promise';

import {
  liveTables,
  migrateCellShard,
  MysqlCellStore,
  mysqlCellStoreOptionsDefault,
  mysqlCommitBatchingDefault,
  RandomIdGenerator,
  SystemClock,
} from '@cellpay/cell-data-access';
import { CellError } from '@cellpay/cell-domain';
import { createTestShard, type TestShard } from '@cellpay/cell-testing';

import { type CellContext, startCellContext } from './cell-context';

/** The load: clients at once, payments in all, and who pays whom. */
const clientCount = 50;
const operationCount = 2_000;
const merchantCount = 10;
const richPayerCount = 40;
const poorPayerCount = 20;
const richTopUpMinor = 1_000_000n;
/** Poor payers run dry after a few payments, so `insufficient_funds` comes from real balances. */
const poorTopUpMinor = 40n;
const loadTimeoutMs = 300_000;

/** Refusals this load produces by design; anything else fails the test. */
const expectedRefusals = new Set([
  'insufficient_funds',
  'idempotency_key_reused_with_different_request',
  // Retryable contention that outlasted the bounded retries; rare, and the books must balance.
  'transaction_retries_exhausted',
]);
const retriesExhaustedMax = operationCount / 100;

interface Acknowledged {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly payerAccountId: string;
  readonly amountMinor: bigint;
}

function codeOf(error: unknown): string {
  if (error instanceof CellError) return error.code;
  throw error;
}

describe('commit batching under concurrent load on real MariaDB', () => {
  let shard: TestShard;
  let store: MysqlCellStore;
  let cell: CellContext;

  beforeAll(async () => {
    shard = await createTestShard((pool) => migrateCellShard(pool, liveTables), {
      connectionsMax: 24,
      queuedRequestsMax: 1_000,
      connectTimeoutMs: 5_000,
    });
    store = new MysqlCellStore(shard.pool, undefined, {
      ...mysqlCellStoreOptionsDefault,
      batching: mysqlCommitBatchingDefault,
    });
    const clock = new SystemClock();
    cell = await startCellContext({
      unitOfWork: store,
      clock,
      idGenerator: new RandomIdGenerator(clock),
      glPostingSwitch: { isGlPostingDeferred: () => false },
      settings: { cellId: 'cell-1', slotCount: 100 },
    });
  });
  afterAll(async () => {
    await cell.close();
    await shard.drop();
  });

  it(
    `${clientCount} clients, ${operationCount} payments with refusals, duplicates and keys in flight: each acknowledged once, refusals without effect, books balance`,
    async () => {
      const funding = (
        await cell.accounts.openAccount({
          kind: 'external_funding',
          ownerId: 'bank-batching',
          currency: 'CNY',
        })
      ).accountId;
      const merchants: string[] = [];
      for (let index = 0; index < merchantCount; index++) {
        const merchantId = `batch-merchant-${index}`;
        await cell.accounts.openAccount({ kind: 'merchant', ownerId: merchantId, currency: 'CNY' });
        merchants.push(merchantId);
      }
      const topUps = new Map<string, bigint>();
      const payers: string[] = [];
      for (let index = 0; index < richPayerCount + poorPayerCount; index++) {
        const accountId = (
          await cell.accounts.openAccount({
            kind: 'user_wallet',
            ownerId: `batch-payer-${index}`,
            currency: 'CNY',
          })
        ).accountId;
        const amount = index < richPayerCount ? richTopUpMinor : poorTopUpMinor;
        await cell.accounts.topUp({
          clientId: 'batching',
          requestId: `fund-${index}`,
          fromAccountId: funding,
          toAccountId: accountId,
          amountMinor: amount.toString(),
          currency: 'CNY',
        });
        topUps.set(accountId, amount);
        payers.push(accountId);
      }
      const batchedBefore = store.batchingStats().unitsCommittedInBatches;

      const acknowledged = new Map<string, Acknowledged>();
      const refused = new Map<string, string>();
      const refusalCounts = new Map<string, number>();
      const inFlightDisagreements: string[] = [];
      const countRefusal = (code: string) =>
        refusalCounts.set(code, (refusalCounts.get(code) ?? 0) + 1);

      const pay = async (outTradeNo: string, merchantId: string, payer: string, amount: bigint) => {
        const view = await cell.payments.pay({
          merchantId,
          outTradeNo,
          payerAccountId: payer,
          amountMinor: amount.toString(),
          currency: 'CNY',
        });
        return view;
      };
      /** One payment attempt recorded as acknowledged or refused under its key. */
      const attempt = async (
        outTradeNo: string,
        merchantId: string,
        payer: string,
        amount: bigint,
      ): Promise<string> => {
        try {
          const view = await pay(outTradeNo, merchantId, payer, amount);
          acknowledged.set(`${merchantId}/${outTradeNo}`, {
            paymentId: view.paymentId,
            merchantId,
            payerAccountId: payer,
            amountMinor: BigInt(view.amountMinor),
          });
          return `ok:${view.paymentId}`;
        } catch (error) {
          const code = codeOf(error);
          countRefusal(code);
          refused.set(`${merchantId}/${outTradeNo}`, code);
          return `refused:${code}`;
        }
      };

      const runOperation = async (index: number): Promise<void> => {
        const merchantId = merchants[index % merchantCount] ?? '';
        const payer = payers[(index * 7) % payers.length] ?? '';
        const amount = BigInt(1 + (index % 9));
        switch (index % 10) {
          case 6: {
            // The same key twice in flight: both get one and the same answer.
            const outTradeNo = `twin-${index}`;
            const answers = await Promise.all([
              attempt(outTradeNo, merchantId, payer, amount),
              attempt(outTradeNo, merchantId, payer, amount),
            ]);
            if (answers[0] !== answers[1]) inFlightDisagreements.push(answers.join(' vs '));
            return;
          }
          case 7: {
            // A key reused with another request is refused and changes nothing.
            const outTradeNo = `reuse-${index}`;
            await attempt(outTradeNo, merchantId, payer, amount);
            try {
              await pay(outTradeNo, merchantId, payer, amount + 1n);
              inFlightDisagreements.push(`${outTradeNo}: a different request was accepted`);
            } catch (error) {
              countRefusal(codeOf(error));
            }
            return;
          }
          case 8:
            // More than any payer ever held: refused, whatever the balance.
            await attempt(`over-${index}`, merchantId, payer, richTopUpMinor + 1n);
            return;
          case 9: {
            // A duplicate of a finished payment: the stored answer again, never a second payment.
            const outTradeNo = `dup-${index}`;
            const first = await attempt(outTradeNo, merchantId, payer, amount);
            const again = await attempt(outTradeNo, merchantId, payer, amount);
            if (first !== again) inFlightDisagreements.push(`${outTradeNo}: ${first} vs ${again}`);
            return;
          }
          default:
            await attempt(`pay-${index}`, merchantId, payer, amount);
        }
      };

      await Promise.all(
        Array.from({ length: clientCount }, async (_, client) => {
          for (let index = client; index < operationCount; index += clientCount) {
            await runOperation(index);
          }
        }),
      );

      expect(inFlightDisagreements).toEqual([]);
      for (const code of refusalCounts.keys()) expect(expectedRefusals).toContain(code);
      expect(refusalCounts.get('insufficient_funds') ?? 0).toBeGreaterThan(operationCount / 10);
      expect(refusalCounts.get('transaction_retries_exhausted') ?? 0).toBeLessThanOrEqual(
        retriesExhaustedMax,
      );
      // The batches really formed: most payments shared a transaction with others.
      const batched = store.batchingStats().unitsCommittedInBatches - batchedBefore;
      expect(batched).toBeGreaterThan(operationCount / 2);

      // Every acknowledged payment exists once, with one journal; no refused key has a payment.
      const [paymentRows] = await shard.pool.query<RowDataPacket[]>(
        `SELECT p.id, p.merchant_id, p.out_trade_no, p.payer_account_id, p.amount_minor,
                (SELECT COUNT(*) FROM journals j WHERE j.reference_id = p.id) AS journal_count
         FROM payments p`,
      );
      const stored = new Map(
        paymentRows.map((row) => [
          `${String(row['merchant_id'])}/${String(row['out_trade_no'])}`,
          row,
        ]),
      );
      expect(paymentRows).toHaveLength(stored.size);
      expect(stored.size).toBe(acknowledged.size);
      for (const [key, payment] of acknowledged) {
        const row = stored.get(key);
        expect(row?.['id']).toBe(payment.paymentId);
        expect(Number(row?.['journal_count'])).toBe(1);
      }
      for (const key of refused.keys()) {
        if (acknowledged.has(key)) continue;
        expect(stored.has(key)).toBe(false);
      }

      // Refusals had no effect: each payer's balance is its top-up less its acknowledged payments.
      const spent = new Map<string, bigint>();
      for (const payment of acknowledged.values()) {
        spent.set(
          payment.payerAccountId,
          (spent.get(payment.payerAccountId) ?? 0n) + payment.amountMinor,
        );
      }
      for (const [accountId, topUp] of topUps) {
        const balance = await cell.accounts.balance(accountId);
        expect({ accountId, balance: BigInt(balance.balanceMinor) }).toEqual({
          accountId,
          balance: topUp - (spent.get(accountId) ?? 0n),
        });
      }

      // Balances equal the sum of journals, every payment has its journals, trial balance holds.
      const report = await cell.accounting.reconcile();
      expect(report.differences).toEqual([]);
      expect(report.clean).toBe(true);
      expect(report.paymentsChecked).toBe(acknowledged.size);
    },
    loadTimeoutMs,
  );
});
