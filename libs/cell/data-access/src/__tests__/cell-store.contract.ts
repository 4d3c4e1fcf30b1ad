import {
  type Account,
  AccountKind,
  type CellTransaction,
  type Hold,
  HoldStatus,
  IdempotencyKeyTaken,
  type Journal,
  JournalKind,
  movement,
  type Payment,
  PaymentStatus,
  SequenceIdGenerator,
  TransferKind,
  type UnitOfWork,
  voucherOf,
} from '@cellpay/cell-domain';
import { runInRequestContext } from '@cellpay/observability';

export interface CellStoreUnderTest {
  readonly unitOfWork: UnitOfWork;
  close(): Promise<void>;
}

export type CellStoreFactory = () => Promise<CellStoreUnderTest>;

const at = new Date(Date.UTC(2026, 4, 1, 12, 0, 0));

/**
 * The contract of the cell's ports: one suite, run against the in-memory adapter (unit tier) and
 * the MySQL adapter on real MariaDB (integration tier). An adapter that passes it can carry the cell.
 */
export function cellStoreContract(name: string, factory: CellStoreFactory): void {
  describe(`cell store contract: ${name}`, () => {
    let store: CellStoreUnderTest;
    let ids: SequenceIdGenerator;
    const run = <T>(work: (tx: CellTransaction) => Promise<T>): Promise<T> =>
      store.unitOfWork.run('contract', work);

    beforeEach(async () => {
      store = await factory();
      ids = new SequenceIdGenerator('CT');
    });
    afterEach(async () => {
      await store.close();
    });

    function account(kind: AccountKind, ownerId: string, balanceMinor = 0n): Account {
      return {
        id: ids.next('account', 42),
        kind,
        ownerId,
        currency: 'CNY',
        allowNegative: kind === AccountKind.ExternalFunding,
        balanceMinor,
        heldMinor: 0n,
        createdAt: at,
      };
    }

    function journalBetween(
      from: Account,
      to: Account,
      amountMinor: bigint,
      referenceId: string,
    ): Journal {
      return movement(
        { id: ids.next('journal', 42), kind: JournalKind.Transfer, referenceId, createdAt: at },
        from.id,
        to.id,
        amountMinor,
        'CNY',
      );
    }

    it('keeps stress traffic in the shadow tables, out of sight of live units of work', async () => {
      const stress = <T>(work: () => Promise<T>): Promise<T> =>
        runInRequestContext({ requestId: 'req-stress', stress: true }, work);
      const live = account(AccountKind.UserWallet, 'user-live', 10n);
      const shadow = account(AccountKind.UserWallet, 'user-shadow', 20n);
      await run((tx) => tx.accounts.insert(live));
      await stress(() => run((tx) => tx.accounts.insert(shadow)));
      // The same natural key in both sets is no collision: they are separate tables.
      const shadowTwin = { ...account(AccountKind.UserWallet, 'user-live', 30n) };
      await stress(() => run((tx) => tx.accounts.insert(shadowTwin)));

      expect(await run((tx) => tx.accounts.findById(shadow.id))).toBeUndefined();
      expect(
        await run((tx) => tx.accounts.findByKey(AccountKind.UserWallet, 'user-live', 'CNY')),
      ).toEqual(live);
      expect(await stress(() => run((tx) => tx.accounts.findById(live.id)))).toBeUndefined();
      expect(await stress(() => run((tx) => tx.accounts.findById(shadow.id)))).toEqual(shadow);
      expect(await run(async (tx) => tx.handle.shadow)).toBe(false);
      expect(await stress(() => run(async (tx) => tx.handle.shadow))).toBe(true);
      expect((await run((tx) => tx.accounts.listAfter('', 10))).map((a) => a.id)).toEqual([
        live.id,
      ]);
    });

    it('stores accounts with 64-bit balances exactly and finds them by ID and by key', async () => {
      const wallet = account(AccountKind.UserWallet, 'user-1', 9_223_372_036_854_775_807n);
      await run((tx) => tx.accounts.insert(wallet));
      expect(await run((tx) => tx.accounts.findById(wallet.id))).toEqual(wallet);
      expect(
        await run((tx) => tx.accounts.findByKey(AccountKind.UserWallet, 'user-1', 'CNY')),
      ).toEqual(wallet);
      expect(
        await run((tx) => tx.accounts.findByKey(AccountKind.UserWallet, 'user-1', 'USD')),
      ).toBeUndefined();
      expect(await run((tx) => tx.accounts.findById('acc_0042NOPE00000000'))).toBeUndefined();
      await expect(
        run((tx) => tx.accounts.insert({ ...wallet, id: ids.next('account', 42) })),
      ).rejects.toThrow();
    });

    it('locks accounts, updates balances and lists them in ID order', async () => {
      const first = account(AccountKind.UserWallet, 'user-a');
      const second = account(AccountKind.Merchant, 'merchant-a');
      await run(async (tx) => {
        await tx.accounts.insert(second);
        await tx.accounts.insert(first);
      });
      await run(async (tx) => {
        const locked = await tx.accounts.lockForUpdate([
          second.id,
          first.id,
          'acc_0042MISSING0000',
        ]);
        expect([...locked.keys()].sort()).toEqual([first.id, second.id].sort());
        await tx.accounts.updateBalance({ ...first, balanceMinor: 500n, heldMinor: 200n });
      });
      expect(await run((tx) => tx.accounts.findById(first.id))).toMatchObject({
        balanceMinor: 500n,
        heldMinor: 200n,
      });
      const listed = await run((tx) => tx.accounts.listAfter('', 10));
      expect(listed.map((a) => a.id)).toEqual([first.id, second.id].sort());
      expect(await run((tx) => tx.accounts.listAfter(listed[0]?.id ?? '', 10))).toHaveLength(1);
    });

    it('rolls back every write of a failed unit of work', async () => {
      const wallet = account(AccountKind.UserWallet, 'user-rollback');
      await expect(
        run(async (tx) => {
          await tx.accounts.insert(wallet);
          await tx.idempotency.claim({ scope: 's', key: 'k', requestHash: 'h', responseJson: '' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await run((tx) => tx.accounts.findById(wallet.id))).toBeUndefined();
      expect(await run((tx) => tx.idempotency.find('s', 'k'))).toBeUndefined();
    });

    it('stores journals immutably and pages an account statement newest first', async () => {
      const from = account(AccountKind.ExternalFunding, 'bank');
      const to = account(AccountKind.UserWallet, 'user-j');
      await run(async (tx) => {
        await tx.accounts.insert(from);
        await tx.accounts.insert(to);
      });
      const journals = [1n, 2n, 3n].map((amount) =>
        journalBetween(from, to, amount, `trf_ref_${amount}`),
      );
      for (const journal of journals) await run((tx) => tx.journals.insert(journal));
      const first = journals[0] as Journal;
      expect(await run((tx) => tx.journals.findById(first.id))).toEqual(first);
      expect(await run((tx) => tx.journals.findByReference('trf_ref_2'))).toEqual([journals[1]]);
      await expect(run((tx) => tx.journals.insert(first))).rejects.toThrow();

      const page1 = await run((tx) => tx.journals.listLinesOfAccount(to.id, undefined, 2));
      expect(page1.map((line) => line.amountMinor)).toEqual([3n, 2n]);
      expect(page1[0]).toMatchObject({
        direction: 'credit',
        journalKind: 'transfer',
        lineNumber: 2,
      });
      const page2 = await run((tx) => tx.journals.listLinesOfAccount(to.id, page1[1]?.sequence, 2));
      expect(page2.map((line) => line.amountMinor)).toEqual([1n]);
      expect(await run((tx) => tx.journals.totalsForAccounts([from.id, to.id]))).toEqual([
        { accountId: from.id, debitMinor: 6n, creditMinor: 0n },
        { accountId: to.id, debitMinor: 0n, creditMinor: 6n },
      ]);
      expect((await run((tx) => tx.journals.listAfter('', 10))).map((j) => j.id)).toEqual(
        journals.map((j) => j.id),
      );
    });

    it('stores payments, refuses a second (merchant, out_trade_no) and updates status', async () => {
      const payment: Payment = {
        id: ids.next('payment', 42),
        merchantId: 'merchant-p',
        outTradeNo: 'order-1',
        payerAccountId: ids.next('account', 42),
        payeeAccountId: ids.next('account', 42),
        currency: 'CNY',
        amountMinor: 1000n,
        capturedMinor: 0n,
        refundedMinor: 0n,
        status: PaymentStatus.Authorized,
        holdId: ids.next('hold', 42),
        authorizationExpiresAt: new Date(at.getTime() + 60_000),
        createdAt: at,
        updatedAt: at,
      };
      await run((tx) => tx.payments.insert(payment));
      await expect(
        run((tx) => tx.payments.insert({ ...payment, id: ids.next('payment', 42) })),
      ).rejects.toThrow();
      expect(await run((tx) => tx.payments.findByOutTradeNo('merchant-p', 'order-1'))).toEqual(
        payment,
      );
      const captured = { ...payment, status: PaymentStatus.PartlyCaptured, capturedMinor: 600n };
      await run(async (tx) => {
        expect(await tx.payments.lockForUpdate(payment.id)).toEqual(payment);
        await tx.payments.update(captured);
      });
      expect(await run((tx) => tx.payments.findById(payment.id))).toEqual(captured);
      expect(await run((tx) => tx.payments.listAfter('', 5))).toEqual([captured]);
      const refund = {
        id: ids.next('refund', 42),
        paymentId: payment.id,
        merchantId: 'merchant-p',
        outRefundNo: 'refund-1',
        amountMinor: 100n,
        currency: 'CNY' as const,
        journalId: ids.next('journal', 42),
        createdAt: at,
      };
      await run((tx) => tx.refunds.insert(refund));
      expect(await run((tx) => tx.refunds.listByPayment(payment.id))).toEqual([refund]);
      expect(await run((tx) => tx.refunds.findById(refund.id))).toEqual(refund);
      expect(await run((tx) => tx.refunds.findById(ids.next('refund', 42)))).toBeUndefined();
      expect(await run((tx) => tx.refunds.listAfter('', 5))).toEqual([refund]);
    });

    it('stores holds and transfers and finds expired open holds', async () => {
      const hold: Hold = {
        id: ids.next('hold', 42),
        accountId: ids.next('account', 42),
        amountMinor: 700n,
        currency: 'CNY',
        capturedMinor: 0n,
        status: HoldStatus.Open,
        expiresAt: new Date(at.getTime() + 1000),
        createdAt: at,
        updatedAt: at,
      };
      await run((tx) => tx.holds.insert(hold));
      expect(await run((tx) => tx.holds.findById(hold.id))).toEqual(hold);
      expect(
        await run((tx) => tx.holds.openTotalsForAccounts([hold.accountId, 'acc_0042NONE00000000'])),
      ).toEqual(new Map([[hold.accountId, 700n]]));
      expect(await run((tx) => tx.holds.listExpiredOpen(at, 10))).toEqual([]);
      expect(
        await run((tx) => tx.holds.listExpiredOpen(new Date(at.getTime() + 1000), 10)),
      ).toEqual([hold]);
      const voided = { ...hold, status: HoldStatus.Voided };
      await run(async (tx) => {
        expect(await tx.holds.lockForUpdate(hold.id)).toEqual(hold);
        await tx.holds.update(voided);
      });
      expect(
        await run((tx) => tx.holds.listExpiredOpen(new Date(at.getTime() + 5000), 10)),
      ).toEqual([]);
      expect(await run((tx) => tx.holds.openTotalsForAccounts([hold.accountId]))).toEqual(
        new Map(),
      );
      const transfer = {
        id: ids.next('transfer', 42),
        kind: TransferKind.TopUp,
        fromAccountId: hold.accountId,
        toAccountId: ids.next('account', 42),
        amountMinor: 5n,
        currency: 'CNY' as const,
        journalId: ids.next('journal', 42),
        createdAt: at,
      };
      await run((tx) => tx.transfers.insert(transfer));
      expect(await run((tx) => tx.transfers.findById(transfer.id))).toEqual(transfer);
    });

    it('claims an idempotency key once and stores its response', async () => {
      const record = { scope: 'payment:m', key: 'order-9', requestHash: 'abc', responseJson: '' };
      await run((tx) => tx.idempotency.claim(record));
      await expect(run((tx) => tx.idempotency.claim(record))).rejects.toBeInstanceOf(
        IdempotencyKeyTaken,
      );
      await run((tx) => tx.idempotency.complete('payment:m', 'order-9', '{"ok":true}'));
      expect(await run((tx) => tx.idempotency.find('payment:m', 'order-9'))).toEqual({
        ...record,
        responseJson: '{"ok":true}',
      });
    });

    it('posts vouchers, reports the backlog, totals a day and closes it once', async () => {
      const from = account(AccountKind.ExternalFunding, 'bank-gl');
      const to = account(AccountKind.UserWallet, 'user-gl');
      await run(async (tx) => {
        await tx.accounts.insert(from);
        await tx.accounts.insert(to);
      });
      const journal = journalBetween(from, to, 250n, 'trf_gl');
      await run((tx) => tx.journals.insert(journal));
      expect(await run((tx) => tx.generalLedger.countUnpostedJournals())).toBe(1);
      expect(await run((tx) => tx.generalLedger.listUnpostedJournals(10))).toEqual([journal]);
      const kinds = new Map([
        [from.id, from.kind],
        [to.id, to.kind],
      ]);
      await run((tx) => tx.generalLedger.insertVoucher(voucherOf(journal, kinds, at)));
      await expect(
        run((tx) => tx.generalLedger.insertVoucher(voucherOf(journal, kinds, at))),
      ).rejects.toThrow();
      expect(await run((tx) => tx.generalLedger.countUnpostedJournals())).toBe(0);
      expect(
        await run((tx) => tx.generalLedger.findVouchers([journal.id, 'jnl_0042NONE00000000'])),
      ).toEqual(new Map([[journal.id, voucherOf(journal, kinds, at)]]));
      const totals = await run((tx) => tx.generalLedger.totalsOfDay('2026-05-01'));
      expect(totals).toEqual([
        {
          businessDay: '2026-05-01',
          subjectCode: '1001',
          currency: 'CNY',
          debitMinor: 250n,
          creditMinor: 0n,
        },
        {
          businessDay: '2026-05-01',
          subjectCode: '2001',
          currency: 'CNY',
          debitMinor: 0n,
          creditMinor: 250n,
        },
      ]);
      expect(await run((tx) => tx.generalLedger.latestClosedDay())).toBeUndefined();
      const closed = totals.map((row) => ({
        ...row,
        closingMinor: row.creditMinor - row.debitMinor,
      }));
      await run((tx) => tx.generalLedger.saveDayClose('2026-05-01', closed));
      expect(await run((tx) => tx.generalLedger.findDayClose('2026-05-01'))).toEqual(closed);
      expect(await run((tx) => tx.generalLedger.findDayClose('2026-05-03'))).toBeUndefined();
      expect(await run((tx) => tx.generalLedger.latestClosedDay())).toBe('2026-05-01');
      await expect(
        run((tx) => tx.generalLedger.saveDayClose('2026-05-01', closed)),
      ).rejects.toThrow();
      // A day without movements closes too, and only once.
      await run((tx) => tx.generalLedger.saveDayClose('2026-05-02', []));
      expect(await run((tx) => tx.generalLedger.findDayClose('2026-05-02'))).toEqual([]);
      expect(await run((tx) => tx.generalLedger.latestClosedDay())).toBe('2026-05-02');
      await expect(run((tx) => tx.generalLedger.saveDayClose('2026-05-02', []))).rejects.toThrow();
    });
  });
}
