import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';

import { AccountService } from '@cellpay/cell-account';
import {
  type CellPersistenceOptions,
  liveTables,
  migrateCellShard,
  MysqlCellStore,
} from '@cellpay/cell-data-access';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { PaymentService } from '@cellpay/cell-payment';
import { createTestShard, type TestShard } from '@cellpay/cell-testing';

import { CellModule } from '@cellpay/cell-server';
import { reconcileCommand } from './reconcile.command';

describe('cell reconcile command on real MariaDB', () => {
  let shard: TestShard;
  let persistence: CellPersistenceOptions;
  let wallet: string;
  let paymentId: string;

  beforeAll(async () => {
    shard = await createTestShard((pool) => migrateCellShard(pool, liveTables));
    persistence = {
      unitOfWork: new MysqlCellStore(shard.pool),
      clock: new ManualClock(),
      idGenerator: new SequenceIdGenerator('R'),
      glPostingSwitch: { isGlPostingDeferred: () => false },
      settings: { cellId: 'cell-1', slotCount: 100 },
    };
    const context = await NestFactory.createApplicationContext(CellModule.register(persistence), {
      logger: false,
    });
    const accounts = context.get(AccountService);
    const funding = (
      await accounts.openAccount({ kind: 'external_funding', ownerId: 'bank', currency: 'USD' })
    ).accountId;
    wallet = (
      await accounts.openAccount({ kind: 'user_wallet', ownerId: 'rec-user', currency: 'USD' })
    ).accountId;
    await accounts.openAccount({ kind: 'merchant', ownerId: 'rec-merchant', currency: 'USD' });
    await accounts.topUp({
      clientId: 'c',
      requestId: 't',
      fromAccountId: funding,
      toAccountId: wallet,
      amountMinor: '1000',
      currency: 'USD',
    });
    const payment = await context.get(PaymentService).pay({
      merchantId: 'rec-merchant',
      outTradeNo: 'o',
      payerAccountId: wallet,
      amountMinor: '300',
      currency: 'USD',
    });
    paymentId = payment.paymentId;
    await context.close();
  });
  afterAll(async () => {
    await shard.drop();
  });

  async function reconcile(): Promise<{ code: number; report: Record<string, unknown> }> {
    let output = '';
    const code = await reconcileCommand(persistence, (text) => {
      output += text;
    });
    return { code, report: JSON.parse(output) as Record<string, unknown> };
  }

  it('prints a clean report and exits 0 when the books agree', async () => {
    const { code, report } = await reconcile();
    expect(code).toBe(0);
    expect(report).toMatchObject({
      clean: true,
      accountsChecked: 3,
      journalsChecked: 2,
      paymentsChecked: 1,
    });
  });

  it('names the account, journal and payment that differ and by how much, and exits 1', async () => {
    // Corruption behind the ledger's back: a balance edited by hand and a payment record altered.
    await shard.pool.query('UPDATE accounts SET balance_minor = balance_minor + 7 WHERE id = ?', [
      wallet,
    ]);
    await shard.pool.query('UPDATE payments SET captured_minor = 310 WHERE id = ?', [paymentId]);
    const { code, report } = await reconcile();
    expect(code).toBe(1);
    expect(report['differences']).toEqual([
      {
        rule: 'account_balance_equals_journals',
        subjectId: wallet,
        currency: 'USD',
        expectedMinor: '700',
        actualMinor: '707',
        differenceMinor: '7',
      },
      {
        rule: 'payment_captured_equals_journals',
        subjectId: paymentId,
        currency: 'USD',
        expectedMinor: '310',
        actualMinor: '300',
        differenceMinor: '-10',
      },
    ]);
    // An unbalanced journal line is found too (the trial balance then no longer balances), and so
    // is a held amount that no open hold explains, and a voucher that no longer matches its journal.
    await shard.pool.query(
      "UPDATE journal_lines SET amount_minor = amount_minor + 1 WHERE direction = 'credit' AND account_id = ?",
      [wallet],
    );
    await shard.pool.query('UPDATE accounts SET held_minor = 5 WHERE id = ?', [wallet]);
    await shard.pool.query('UPDATE gl_voucher_lines SET amount_minor = amount_minor + 3 LIMIT 1');
    const { report: worse } = await reconcile();
    const rules = (worse['differences'] as { rule: string }[]).map((difference) => difference.rule);
    expect(rules).toEqual(
      expect.arrayContaining([
        'trial_balance_balanced',
        'journal_balanced',
        'account_held_equals_open_holds',
        'voucher_matches_journal',
      ]),
    );
  });
});
