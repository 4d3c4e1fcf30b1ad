import type { UnitOfWork } from '@cellpay/cell-domain';
import { asyncRefusalCodeOf as codeOf } from '@cellpay/testing';

import { type CellUnderTest, startCell } from './cell-harness';

export interface CellServicesFactory {
  open(): Promise<{ readonly unitOfWork: UnitOfWork; close(): Promise<void> }>;
}

/**
 * The behaviour of the cell's three services, run against both adapters: payments, refunds,
 * holds, idempotency, refusals of bad input (each leaving the books untouched) and reconciliation.
 */
export function cellServicesSuite(name: string, factory: CellServicesFactory): void {
  describe(`cell services: ${name}`, () => {
    let cell: CellUnderTest;
    let closeStore: () => Promise<void>;
    let funding: string;
    let wallet: string;
    let merchantAccount: string;

    beforeEach(async () => {
      const store = await factory.open();
      closeStore = () => store.close();
      cell = await startCell(store.unitOfWork);
      funding = (
        await cell.accounts.openAccount({
          kind: 'external_funding',
          ownerId: 'bank-1',
          currency: 'CNY',
        })
      ).accountId;
      wallet = (
        await cell.accounts.openAccount({ kind: 'user_wallet', ownerId: 'user-1', currency: 'CNY' })
      ).accountId;
      merchantAccount = (
        await cell.accounts.openAccount({
          kind: 'merchant',
          ownerId: 'merchant-1',
          currency: 'CNY',
        })
      ).accountId;
      await cell.accounts.topUp({
        clientId: 'wallet-app',
        requestId: 'top-up-1',
        fromAccountId: funding,
        toAccountId: wallet,
        amountMinor: '10000',
        currency: 'CNY',
      });
    });
    afterEach(async () => {
      await cell.close();
      await closeStore();
    });

    const balanceOf = async (accountId: string): Promise<string> =>
      (await cell.accounts.balance(accountId)).balanceMinor;

    async function expectClean(): Promise<void> {
      const report = await cell.accounting.reconcile();
      expect(report.differences).toEqual([]);
      expect(report.clean).toBe(true);
    }

    it('opens accounts idempotently with slot-bearing IDs', async () => {
      const again = await cell.accounts.openAccount({
        kind: 'user_wallet',
        ownerId: 'user-1',
        currency: 'CNY',
      });
      expect(again.accountId).toBe(wallet);
      expect(wallet).toMatch(/^acc_\d{4}T\d{12}$/);
      expect(funding.startsWith('acc_9999')).toBe(true);
    });

    it('pays in one step and refunds partly, several times, never more than captured', async () => {
      const payment = await cell.payments.pay({
        merchantId: 'merchant-1',
        outTradeNo: 'order-1',
        payerAccountId: wallet,
        amountMinor: '3000',
        currency: 'CNY',
      });
      expect(payment).toMatchObject({
        status: 'captured',
        capturedMinor: '3000',
        payeeAccountId: merchantAccount,
      });
      expect(await balanceOf(wallet)).toBe('7000');
      expect(await balanceOf(merchantAccount)).toBe('3000');
      const refund1 = await cell.payments.refund({
        merchantId: 'merchant-1',
        paymentId: payment.paymentId,
        outRefundNo: 'r1',
        amountMinor: '1000',
      });
      expect(refund1.payment.status).toBe('partly_refunded');
      const refund2 = await cell.payments.refund({
        merchantId: 'merchant-1',
        paymentId: payment.paymentId,
        outRefundNo: 'r2',
        amountMinor: '1500',
      });
      expect(refund2.payment.refundedMinor).toBe('2500');
      expect(
        await codeOf(
          cell.payments.refund({
            merchantId: 'merchant-1',
            paymentId: payment.paymentId,
            outRefundNo: 'r3',
            amountMinor: '501',
          }),
        ),
      ).toBe('refund_exceeds_captured');
      const refund3 = await cell.payments.refund({
        merchantId: 'merchant-1',
        paymentId: payment.paymentId,
        outRefundNo: 'r4',
        amountMinor: '500',
      });
      expect(refund3.payment.status).toBe('refunded');
      expect(await balanceOf(wallet)).toBe('10000');
      expect(await balanceOf(merchantAccount)).toBe('0');
      const byKey = await cell.payments.byOutTradeNo('merchant-1', 'order-1');
      expect(byKey).toEqual(await cell.payments.byId('merchant-1', payment.paymentId));
      expect(await codeOf(cell.payments.byId('merchant-2', payment.paymentId))).toBe(
        'payment_not_found',
      );
      await expectClean();
    });

    it('authorizes, captures partly and releases the rest; voids and expires authorizations', async () => {
      const authorized = await cell.payments.authorize({
        merchantId: 'merchant-1',
        outTradeNo: 'auth-1',
        payerAccountId: wallet,
        amountMinor: '4000',
        currency: 'CNY',
        ttlSeconds: 600,
      });
      expect(authorized.status).toBe('authorized');
      expect(await cell.accounts.balance(wallet)).toMatchObject({
        balanceMinor: '10000',
        heldMinor: '4000',
        availableMinor: '6000',
      });
      expect(
        await codeOf(
          cell.payments.capture({
            merchantId: 'merchant-1',
            paymentId: authorized.paymentId,
            amountMinor: '4001',
          }),
        ),
      ).toBe('capture_exceeds_authorized');
      const captured = await cell.payments.capture({
        merchantId: 'merchant-1',
        paymentId: authorized.paymentId,
        amountMinor: '2500',
      });
      expect(captured).toMatchObject({ status: 'partly_captured', capturedMinor: '2500' });
      expect(await cell.accounts.balance(wallet)).toMatchObject({
        balanceMinor: '7500',
        heldMinor: '0',
      });
      expect(
        await codeOf(
          cell.payments.void({ merchantId: 'merchant-1', paymentId: authorized.paymentId }),
        ),
      ).toBe('invalid_state_transition');

      const toVoid = await cell.payments.authorize({
        merchantId: 'merchant-1',
        outTradeNo: 'auth-2',
        payerAccountId: wallet,
        amountMinor: '1000',
        currency: 'CNY',
        ttlSeconds: 600,
      });
      expect(
        (await cell.payments.void({ merchantId: 'merchant-1', paymentId: toVoid.paymentId }))
          .status,
      ).toBe('voided');
      expect((await cell.accounts.balance(wallet)).heldMinor).toBe('0');

      const toExpire = await cell.payments.authorize({
        merchantId: 'merchant-1',
        outTradeNo: 'auth-3',
        payerAccountId: wallet,
        amountMinor: '1000',
        currency: 'CNY',
        ttlSeconds: 60,
      });
      cell.clock.advanceMs(61_000);
      expect(
        await codeOf(
          cell.payments.capture({
            merchantId: 'merchant-1',
            paymentId: toExpire.paymentId,
            amountMinor: '1000',
          }),
        ),
      ).toBe('hold_expired');
      expect((await cell.payments.byId('merchant-1', toExpire.paymentId)).status).toBe('expired');
      expect(await cell.accounts.balance(wallet)).toMatchObject({
        balanceMinor: '7500',
        heldMinor: '0',
      });

      const lapsing = await cell.payments.authorize({
        merchantId: 'merchant-1',
        outTradeNo: 'auth-4',
        payerAccountId: wallet,
        amountMinor: '500',
        currency: 'CNY',
        ttlSeconds: 60,
      });
      expect(await cell.payments.expireAuthorizations(10)).toBe(0);
      cell.clock.advanceMs(60_000);
      expect(await cell.payments.expireAuthorizations(10)).toBe(1);
      expect((await cell.payments.byId('merchant-1', lapsing.paymentId)).status).toBe('expired');
      expect((await cell.accounts.balance(wallet)).heldMinor).toBe('0');
      expect(await cell.payments.expireAuthorizations(10)).toBe(0);
      await expectClean();
    });

    it('places, captures and expires holds on the account service', async () => {
      const other = (
        await cell.accounts.openAccount({ kind: 'user_wallet', ownerId: 'user-2', currency: 'CNY' })
      ).accountId;
      const hold = await cell.accounts.placeHold({
        clientId: 'app',
        requestId: 'h1',
        accountId: wallet,
        amountMinor: '2000',
        currency: 'CNY',
        ttlSeconds: 30,
      });
      expect(
        await codeOf(
          cell.accounts.transfer({
            clientId: 'app',
            requestId: 't-over',
            fromAccountId: wallet,
            toAccountId: other,
            amountMinor: '8001',
            currency: 'CNY',
          }),
        ),
      ).toBe('insufficient_funds');
      const capture = await cell.accounts.captureHold({
        clientId: 'app',
        requestId: 'c1',
        holdId: hold.holdId,
        toAccountId: other,
        amountMinor: '500',
      });
      expect(capture.kind).toBe('hold_capture');
      expect(await balanceOf(other)).toBe('500');
      const expiring = await cell.accounts.placeHold({
        clientId: 'app',
        requestId: 'h2',
        accountId: wallet,
        amountMinor: '100',
        currency: 'CNY',
        ttlSeconds: 30,
      });
      cell.clock.advanceMs(31_000);
      expect(await cell.accounts.expireHolds(10)).toBe(1);
      expect(await codeOf(cell.accounts.voidHold(expiring.holdId))).toBe(
        'invalid_state_transition',
      );
      expect((await cell.accounts.balance(wallet)).heldMinor).toBe('0');
      await expectClean();
    });

    it('refuses to post to an account whose slot moved or is frozen, and changes nothing', async () => {
      const slotOf = (accountId: string): number => Number(accountId.slice(4, 8));
      const statementLength = async (accountId: string): Promise<number> =>
        (await cell.accounts.statement(accountId, 200, '')).lines.length;
      const before = {
        wallet: await statementLength(wallet),
        merchant: await statementLength(merchantAccount),
      };
      cell.setSlotVerdict(slotOf(merchantAccount), {
        kind: 'not_owned',
        ownerCellId: 'cell-3',
        epoch: 7n,
      });
      const toGhost = {
        merchantId: 'merchant-1',
        outTradeNo: 'ghost-1',
        payerAccountId: wallet,
        amountMinor: '300',
        currency: 'CNY',
      };
      expect(await codeOf(cell.payments.pay(toGhost))).toBe('slot_not_owned_at_epoch');
      cell.setSlotVerdict(slotOf(wallet), { kind: 'frozen', epoch: 8n });
      const topUp = {
        clientId: 'wallet-app',
        requestId: 'top-up-frozen',
        fromAccountId: funding,
        toAccountId: wallet,
        amountMinor: '50',
        currency: 'CNY',
      };
      expect(await codeOf(cell.accounts.topUp(topUp))).toBe('slot_frozen');
      expect(
        await codeOf(
          cell.accounts.placeHold({
            clientId: 'app',
            requestId: 'h-frozen',
            accountId: wallet,
            amountMinor: '10',
            currency: 'CNY',
            ttlSeconds: 30,
          }),
        ),
      ).toBe('slot_frozen');
      // Nothing of the refused calls is left: balances, held amounts, lines, payments.
      expect(await cell.accounts.balance(wallet)).toMatchObject({
        balanceMinor: '10000',
        heldMinor: '0',
      });
      expect(await balanceOf(merchantAccount)).toBe('0');
      expect(await statementLength(wallet)).toBe(before.wallet);
      expect(await statementLength(merchantAccount)).toBe(before.merchant);
      expect(await codeOf(cell.payments.byOutTradeNo('merchant-1', 'ghost-1'))).toBe(
        'payment_not_found',
      );
      await expectClean();
      // The refusals are retryable, so they are not stored under the keys: once the slots are
      // writable again the same requests run.
      cell.setSlotVerdict(slotOf(wallet), undefined);
      cell.setSlotVerdict(slotOf(merchantAccount), undefined);
      expect((await cell.accounts.topUp(topUp)).kind).toBe('top_up');
      expect((await cell.payments.pay(toGhost)).status).toBe('captured');
      expect(await balanceOf(wallet)).toBe('9750');
      expect(await balanceOf(merchantAccount)).toBe('300');
      await expectClean();
    });

    it('pages statements newest first within a bounded page size', async () => {
      const other = (
        await cell.accounts.openAccount({ kind: 'user_wallet', ownerId: 'user-3', currency: 'CNY' })
      ).accountId;
      for (let index = 1; index <= 5; index++) {
        await cell.accounts.transfer({
          clientId: 'app',
          requestId: `s${index}`,
          fromAccountId: wallet,
          toAccountId: other,
          amountMinor: String(index),
          currency: 'CNY',
        });
      }
      const first = await cell.accounts.statement(other, 2, '');
      expect(first.lines.map((line) => line.amountMinor)).toEqual(['5', '4']);
      const second = await cell.accounts.statement(other, 2, first.nextCursor);
      const third = await cell.accounts.statement(other, 2, second.nextCursor);
      expect(third.lines.map((line) => line.amountMinor)).toEqual(['1']);
      expect(third.nextCursor).toBe('');
      expect(await codeOf(cell.accounts.statement(other, 201, ''))).toBe('page_size_exceeds_limit');
      expect(await codeOf(cell.accounts.statement(other, 2, 'abc'))).toBe('malformed_field');
    });

    it('returns the original response for the same key and refuses a different request', async () => {
      const request = {
        merchantId: 'merchant-1',
        outTradeNo: 'idem-1',
        payerAccountId: wallet,
        amountMinor: '100',
        currency: 'CNY',
      };
      const first = await cell.payments.pay(request);
      cell.clock.advanceMs(5_000);
      const second = await cell.payments.pay(request);
      expect(JSON.stringify(second)).toBe(JSON.stringify(first));
      expect(await codeOf(cell.payments.pay({ ...request, amountMinor: '101' }))).toBe(
        'idempotency_key_reused_with_different_request',
      );
      expect(await balanceOf(wallet)).toBe('9900');
    });

    it('runs the general ledger synchronously or deferred, then catches up and closes the day', async () => {
      cell.deferGlPosting(true);
      await cell.payments.pay({
        merchantId: 'merchant-1',
        outTradeNo: 'gl-1',
        payerAccountId: wallet,
        amountMinor: '700',
        currency: 'CNY',
      });
      expect((await cell.accounting.catchUp()).postedCount).toBe(1);
      cell.deferGlPosting(false);
      await cell.payments.pay({
        merchantId: 'merchant-1',
        outTradeNo: 'gl-2',
        payerAccountId: wallet,
        amountMinor: '300',
        currency: 'CNY',
      });
      expect(await cell.accounting.catchUp()).toEqual({ postedCount: 0, backlogCount: 0 });
      const report = await cell.accounting.trialBalance('2026-05-01');
      expect(report.trialBalance).toEqual([
        { currency: 'CNY', debitMinor: 11000n, creditMinor: 11000n, balanced: true },
      ]);
      expect(report.subjects.find((row) => row.subjectCode === '2002')).toMatchObject({
        creditMinor: 1000n,
      });
      expect(await codeOf(cell.accounting.closeDay('2026-05-01'))).toBe('invalid_state_transition');
      cell.clock.advanceMs(24 * 3600 * 1000);
      const closed = await cell.accounting.closeDay('2026-05-01');
      expect(closed.find((row) => row.subjectCode === '2001')?.closingMinor).toBe(9000n);
      expect(closed.find((row) => row.subjectCode === '1001')?.closingMinor).toBe(-10000n);
      expect((await cell.accounting.trialBalance('2026-05-01')).closed).toBe(true);
      expect(await codeOf(cell.accounting.closeDay('2026-05-01'))).toBe('invalid_state_transition');
      expect(await codeOf(cell.accounting.closeDay('2026-13-01'))).toBe('malformed_field');
    });

    it('answers a refused key with the same refusal, even after the cause went away', async () => {
      const pay = (outTradeNo: string) =>
        cell.payments.pay({
          merchantId: 'merchant-1',
          outTradeNo,
          payerAccountId: wallet,
          amountMinor: '15000',
          currency: 'CNY',
        });
      expect(await codeOf(pay('big-1'))).toBe('insufficient_funds');
      await cell.accounts.topUp({
        clientId: 'wallet-app',
        requestId: 'top-up-big',
        fromAccountId: funding,
        toAccountId: wallet,
        amountMinor: '10000',
        currency: 'CNY',
      });
      // The retry of big-1 gets the first answer and moves nothing; a new key pays.
      expect(await codeOf(pay('big-1'))).toBe('insufficient_funds');
      expect(await balanceOf(wallet)).toBe('20000');
      expect(await codeOf(cell.payments.byOutTradeNo('merchant-1', 'big-1'))).toBe(
        'payment_not_found',
      );
      expect((await pay('big-2')).status).toBe('captured');
      expect(await balanceOf(wallet)).toBe('5000');
      // The same key with another request is still refused as a different request.
      expect(
        await codeOf(
          cell.payments.pay({
            merchantId: 'merchant-1',
            outTradeNo: 'big-1',
            payerAccountId: wallet,
            amountMinor: '100',
            currency: 'CNY',
          }),
        ),
      ).toBe('idempotency_key_reused_with_different_request');
      await expectClean();
    });

    it('lets a corrected capture run after a refused one (the capture key is the payment)', async () => {
      const authorized = await cell.payments.authorize({
        merchantId: 'merchant-1',
        outTradeNo: 'auth-fix',
        payerAccountId: wallet,
        amountMinor: '3000',
        currency: 'CNY',
        ttlSeconds: 600,
      });
      const capture = (amountMinor: string) =>
        cell.payments.capture({
          merchantId: 'merchant-1',
          paymentId: authorized.paymentId,
          amountMinor,
        });
      expect(await codeOf(capture('3001'))).toBe('capture_exceeds_authorized');
      expect(await capture('3000')).toMatchObject({ status: 'captured', capturedMinor: '3000' });
      await expectClean();
    });

    describe('refuses bad input with a clear code and changes nothing', () => {
      const pay = (overrides: Record<string, string>) =>
        cell.payments.pay({
          merchantId: 'merchant-1',
          outTradeNo: 'bad-1',
          payerAccountId: wallet,
          amountMinor: '100',
          currency: 'CNY',
          ...overrides,
        });
      const cases: readonly [string, () => Record<string, string>, string][] = [
        ['zero amount', () => ({ amountMinor: '0' }), 'amount_must_be_positive'],
        ['negative amount', () => ({ amountMinor: '-5' }), 'amount_must_be_positive'],
        ['over-limit amount', () => ({ amountMinor: '100000001' }), 'amount_exceeds_limit'],
        ['non-integer amount', () => ({ amountMinor: '10.5' }), 'malformed_amount'],
        [
          'amount beyond 64 bits',
          () => ({ amountMinor: '99999999999999999999' }),
          'malformed_amount',
        ],
        ['unknown currency', () => ({ currency: 'XYZ' }), 'unknown_currency'],
        ['currency of another account', () => ({ currency: 'USD' }), 'currency_mismatch'],
        [
          'unknown account',
          () => ({ payerAccountId: 'acc_0001ZZZZZZZZZZZZ' }),
          'account_not_found',
        ],
        [
          'malformed account ID',
          () => ({ payerAccountId: 'pay_0001ZZZZZZZZZZZZ' }),
          'malformed_id',
        ],
        ['over-long out_trade_no', () => ({ outTradeNo: 'x'.repeat(65) }), 'field_too_long'],
        ['empty merchant', () => ({ merchantId: '' }), 'field_required'],
        ['unknown merchant', () => ({ merchantId: 'merchant-none' }), 'account_not_found'],
        ['more than the balance', () => ({ amountMinor: '10001' }), 'insufficient_funds'],
      ];
      it.each(cases)('%s', async (_label, overrides, code) => {
        const before = await cell.accounting.reconcile();
        expect(await codeOf(pay(overrides()))).toBe(code);
        expect(await balanceOf(wallet)).toBe('10000');
        expect(await codeOf(cell.payments.byOutTradeNo('merchant-1', 'bad-1'))).toBe(
          'payment_not_found',
        );
        const after = await cell.accounting.reconcile();
        expect(after).toEqual(before);
      });

      it('refuses bad transfers, holds and IDs', async () => {
        const move = {
          clientId: 'app',
          requestId: 'bad-t',
          fromAccountId: wallet,
          toAccountId: merchantAccount,
          amountMinor: '1',
          currency: 'CNY',
        };
        // Each case has its own key: a refusal is the answer stored under its key.
        expect(
          await codeOf(
            cell.accounts.transfer({ ...move, requestId: 'bad-t1', toAccountId: wallet }),
          ),
        ).toBe('same_account');
        expect(
          await codeOf(
            cell.accounts.transfer({ ...move, requestId: 'bad-t2', fromAccountId: funding }),
          ),
        ).toBe('account_kind_not_allowed');
        expect(await codeOf(cell.accounts.topUp({ ...move, requestId: 'bad-t3' }))).toBe(
          'account_kind_not_allowed',
        );
        expect(await codeOf(cell.accounts.transfer({ ...move, requestId: 'a b' }))).toBe(
          'malformed_field',
        );
        expect(
          await codeOf(
            cell.accounts.placeHold({
              clientId: 'app',
              requestId: 'bh',
              accountId: wallet,
              amountMinor: '1',
              currency: 'CNY',
              ttlSeconds: 0,
            }),
          ),
        ).toBe('malformed_field');
        expect(await codeOf(cell.accounts.voidHold('hld_12'))).toBe('malformed_id');
        expect(await codeOf(cell.accounts.voidHold('hld_0001ZZZZZZZZZZZZ'))).toBe('hold_not_found');
        expect(
          await codeOf(
            cell.accounts.openAccount({ kind: 'pirate', ownerId: 'x', currency: 'CNY' }),
          ),
        ).toBe('account_kind_not_allowed');
        expect(
          await codeOf(
            cell.payments.refund({
              merchantId: 'merchant-1',
              paymentId: 'pay_0001ZZZZZZZZZZZZ',
              outRefundNo: 'r',
              amountMinor: '1',
            }),
          ),
        ).toBe('payment_not_found');
        expect(await balanceOf(wallet)).toBe('10000');
        await expectClean();
      });
    });
  });
}
