import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';

import { AccountService } from '@cellpay/cell-account';
import { MemoryCellStore } from '@cellpay/cell-data-access';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { PaymentService } from '@cellpay/cell-payment';
import { createLogger } from '@cellpay/observability';

import { CellMaintenance } from './cell-maintenance';
import { CellModule } from '@cellpay/cell-server';

describe('cell maintenance', () => {
  it('expires lapsed holds and authorizations and posts the deferred backlog once undeferred', async () => {
    const clock = new ManualClock();
    let deferred = true;
    const glPostingSwitch = { isGlPostingDeferred: () => deferred };
    const context = await NestFactory.createApplicationContext(
      CellModule.register({
        unitOfWork: new MemoryCellStore(),
        clock,
        idGenerator: new SequenceIdGenerator('M'),
        glPostingSwitch,
        settings: { cellId: 'cell-1', slotCount: 100 },
      }),
      { logger: false },
    );
    try {
      const accounts = context.get(AccountService);
      const funding = await accounts.openAccount({
        kind: 'external_funding',
        ownerId: 'bank',
        currency: 'EUR',
      });
      const wallet = await accounts.openAccount({
        kind: 'user_wallet',
        ownerId: 'u',
        currency: 'EUR',
      });
      await accounts.openAccount({ kind: 'merchant', ownerId: 'm', currency: 'EUR' });
      await accounts.topUp({
        clientId: 'c',
        requestId: 't',
        fromAccountId: funding.accountId,
        toAccountId: wallet.accountId,
        amountMinor: '900',
        currency: 'EUR',
      });
      await accounts.placeHold({
        clientId: 'c',
        requestId: 'h',
        accountId: wallet.accountId,
        amountMinor: '100',
        currency: 'EUR',
        ttlSeconds: 10,
      });
      const payment = await context.get(PaymentService).authorize({
        merchantId: 'm',
        outTradeNo: 'o',
        payerAccountId: wallet.accountId,
        amountMinor: '200',
        currency: 'EUR',
        ttlSeconds: 10,
      });
      const maintenance = new CellMaintenance(
        context,
        glPostingSwitch,
        createLogger('test', { level: 'silent' }),
      );
      expect(await maintenance.runOnce()).toEqual({
        holdsExpired: 0,
        authorizationsExpired: 0,
        journalsPosted: 0,
      });
      clock.advanceMs(10_000);
      deferred = false;
      // The account job releases both lapsed holds; the payment job then expires the authorization.
      expect(await maintenance.runOnce()).toEqual({
        holdsExpired: 2,
        authorizationsExpired: 1,
        journalsPosted: 1,
      });
      expect((await context.get(PaymentService).byId('m', payment.paymentId)).status).toBe(
        'expired',
      );
      expect((await accounts.balance(wallet.accountId)).heldMinor).toBe('0');
    } finally {
      await context.close();
    }
  });
});
