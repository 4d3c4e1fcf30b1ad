import { liveTables, migrateCellShard, MysqlCellStore } from '@cellpay/cell-data-access';
import type { CellTransaction, UnitOfWork, UnitOfWorkOptions } from '@cellpay/cell-domain';
import { createTestShard, type TestShard } from '@cellpay/cell-testing';

import { type CellUnderTest, startCell } from './__tests__/cell-harness';

const duplicateCount = 50;

/**
 * A unit of work that "crashes" once right after a chosen operation commits: the transaction is
 * durable but the caller never sees the response, as when a process dies between commit and reply.
 */
class CrashAfterCommit implements UnitOfWork {
  private armedFor: string | undefined;
  private interleaved: { operation: string; run: () => Promise<unknown> } | undefined;

  constructor(private readonly inner: UnitOfWork) {}

  arm(operation: string): void {
    this.armedFor = operation;
  }

  /** Runs `run` once, just before the next transaction named `operation` starts. */
  interleave(operation: string, run: () => Promise<unknown>): void {
    this.interleaved = { operation, run };
  }

  async run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    const interleaved = this.interleaved;
    if (interleaved?.operation === operation) {
      this.interleaved = undefined;
      await interleaved.run();
    }
    const result = await this.inner.run(operation, work, options);
    if (this.armedFor === operation) {
      this.armedFor = undefined;
      throw new Error(`simulated crash after ${operation} committed`);
    }
    return result;
  }
}

describe('idempotency on real MariaDB', () => {
  let shard: TestShard;
  let crashing: CrashAfterCommit;
  let cell: CellUnderTest;
  let wallet: string;

  beforeAll(async () => {
    shard = await createTestShard((pool) => migrateCellShard(pool, liveTables));
    crashing = new CrashAfterCommit(new MysqlCellStore(shard.pool));
    cell = await startCell(crashing, 'I');
    const funding = (
      await cell.accounts.openAccount({
        kind: 'external_funding',
        ownerId: 'bank',
        currency: 'CNY',
      })
    ).accountId;
    wallet = (
      await cell.accounts.openAccount({
        kind: 'user_wallet',
        ownerId: 'idem-user',
        currency: 'CNY',
      })
    ).accountId;
    await cell.accounts.openAccount({
      kind: 'merchant',
      ownerId: 'idem-merchant',
      currency: 'CNY',
    });
    await cell.accounts.topUp({
      clientId: 'c',
      requestId: 'top-up',
      fromAccountId: funding,
      toAccountId: wallet,
      amountMinor: '100000',
      currency: 'CNY',
    });
  });
  afterAll(async () => {
    await cell.close();
    await shard.drop();
  });

  const pay = (outTradeNo: string, amountMinor = '1000') =>
    cell.payments.pay({
      merchantId: 'idem-merchant',
      outTradeNo,
      payerAccountId: wallet,
      amountMinor,
      currency: 'CNY',
    });

  it(`${duplicateCount} concurrent identical requests: exactly one effect and identical responses`, async () => {
    const before = BigInt((await cell.accounts.balance(wallet)).balanceMinor);
    const responses = await Promise.all(Array.from({ length: duplicateCount }, () => pay('dup-1')));
    const serialized = new Set(responses.map((response) => JSON.stringify(response)));
    expect(serialized.size).toBe(1);
    expect(BigInt((await cell.accounts.balance(wallet)).balanceMinor)).toBe(before - 1000n);
    const payment = responses[0];
    if (payment === undefined) throw new Error('no response');
    const refunds = await Promise.all(
      Array.from({ length: duplicateCount }, () =>
        cell.payments.refund({
          merchantId: 'idem-merchant',
          paymentId: payment.paymentId,
          outRefundNo: 'dup-r',
          amountMinor: '400',
        }),
      ),
    );
    expect(new Set(refunds.map((refund) => JSON.stringify(refund))).size).toBe(1);
    expect((await cell.payments.byId('idem-merchant', payment.paymentId)).refundedMinor).toBe(
      '400',
    );
    const report = await cell.accounting.reconcile();
    expect(report.differences).toEqual([]);
    expect(report.paymentsChecked).toBe(1);
    expect(report.refundsChecked).toBe(1);
  });

  it('opens one account when the same account is opened concurrently', async () => {
    const opened = await Promise.all(
      Array.from({ length: duplicateCount }, () =>
        cell.accounts.openAccount({ kind: 'user_wallet', ownerId: 'racing-user', currency: 'HKD' }),
      ),
    );
    expect(new Set(opened.map((account) => JSON.stringify(account))).size).toBe(1);
  });

  it('refuses the same key with a different amount and changes nothing', async () => {
    await pay('dup-2', '700');
    const before = (await cell.accounts.balance(wallet)).balanceMinor;
    await expect(pay('dup-2', '701')).rejects.toMatchObject({
      code: 'idempotency_key_reused_with_different_request',
    });
    expect((await cell.accounts.balance(wallet)).balanceMinor).toBe(before);
  });

  it('returns the original result when retried after a crash between commit and response', async () => {
    const before = BigInt((await cell.accounts.balance(wallet)).balanceMinor);
    crashing.arm('payment.pay');
    await expect(pay('crash-1', '300')).rejects.toThrow('simulated crash');
    const committed = await cell.payments.byOutTradeNo('idem-merchant', 'crash-1');
    expect(committed.status).toBe('captured');
    const retried = await pay('crash-1', '300');
    expect(retried).toEqual(committed);
    expect(JSON.stringify(await pay('crash-1', '300'))).toBe(JSON.stringify(retried));
    expect(BigInt((await cell.accounts.balance(wallet)).balanceMinor)).toBe(before - 300n);
  });

  it('gives every attempt with a key one answer when a refusal races a later success', async () => {
    const poor = (
      await cell.accounts.openAccount({
        kind: 'user_wallet',
        ownerId: 'poor-user',
        currency: 'CNY',
      })
    ).accountId;
    const funding = (
      await cell.accounts.openAccount({
        kind: 'external_funding',
        ownerId: 'bank',
        currency: 'CNY',
      })
    ).accountId;
    const payPoor = () =>
      cell.payments.pay({
        merchantId: 'idem-merchant',
        outTradeNo: 'race-1',
        payerAccountId: poor,
        amountMinor: '500',
        currency: 'CNY',
      });
    // Attempt A is refused (no money). Before it records the refusal, money arrives and attempt
    // B with the same key commits the payment: A must then answer with B's payment, not refuse.
    crashing.interleave('payment.pay.refusal', async () => {
      await cell.accounts.topUp({
        clientId: 'c',
        requestId: 'race-top-up',
        fromAccountId: funding,
        toAccountId: poor,
        amountMinor: '500',
        currency: 'CNY',
      });
      await payPoor();
    });
    const answer = await payPoor();
    expect(answer).toMatchObject({ outTradeNo: 'race-1', status: 'captured' });
    expect(JSON.stringify(await payPoor())).toBe(JSON.stringify(answer));
    expect((await cell.accounts.balance(poor)).balanceMinor).toBe('0');

    // And the other order: the refusal is recorded first, so a later attempt gets it too.
    const later = (outTradeNo: string) =>
      cell.payments.pay({
        merchantId: 'idem-merchant',
        outTradeNo,
        payerAccountId: poor,
        amountMinor: '1',
        currency: 'CNY',
      });
    await expect(later('race-2')).rejects.toMatchObject({ code: 'insufficient_funds' });
    await cell.accounts.topUp({
      clientId: 'c',
      requestId: 'race-top-up-2',
      fromAccountId: funding,
      toAccountId: poor,
      amountMinor: '1',
      currency: 'CNY',
    });
    await expect(later('race-2')).rejects.toMatchObject({ code: 'insufficient_funds' });
    expect((await cell.accounts.balance(poor)).balanceMinor).toBe('1');
    expect((await cell.accounting.reconcile()).differences).toEqual([]);
  });
});
