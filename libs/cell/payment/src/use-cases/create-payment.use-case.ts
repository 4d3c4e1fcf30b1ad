import { Inject, Injectable } from '@nestjs/common';

import {
  AccountKind,
  CellError,
  CellErrorCode,
  checkAmount,
  checkCurrency,
  checkExternalId,
  type Clock,
  type IdGenerator,
  JournalKind,
  movement,
  parseId,
  type Payment,
  PaymentStatus,
  requireAccount,
  requireCurrency,
  transition,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import { checkTtlSeconds, HoldLedger, LedgerPoster } from '@cellpay/cell-account';
import {
  clockToken,
  idGeneratorToken,
  runIdempotent,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';

import { type PaymentView, paymentView } from '../payment-views';

export interface CreatePaymentRequest {
  readonly merchantId: string;
  readonly outTradeNo: string;
  readonly payerAccountId: string;
  readonly amountMinor: string;
  readonly currency: string;
  /** Authorizations only: how long the funds stay frozen. */
  readonly ttlSeconds?: number;
}

/**
 * Pay in one step (payer debited, merchant credited) or authorize (payer's funds frozen by a
 * hold). Idempotent on (merchant, out_trade_no): the payment record, the balance changes, the
 * journal and the idempotency record commit in one shard transaction.
 */
@Injectable()
export class CreatePaymentUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    private readonly ledger: LedgerPoster,
    private readonly holds: HoldLedger,
  ) {}

  async execute(mode: 'pay' | 'authorize', request: CreatePaymentRequest): Promise<PaymentView> {
    const merchantId = checkExternalId('merchant_id', request.merchantId);
    const outTradeNo = checkExternalId('out_trade_no', request.outTradeNo);
    const payer = parseId(request.payerAccountId, 'account');
    const currency = checkCurrency(request.currency);
    const amountMinor = checkAmount(request.amountMinor, currency);
    const ttlSeconds = mode === 'authorize' ? checkTtlSeconds(request.ttlSeconds ?? 0) : 0;
    return runIdempotent(
      this.unitOfWork,
      `payment.${mode}`,
      { scope: `payment:${merchantId}`, key: outTradeNo, request: { mode, ...request } },
      async (tx) => {
        const payerAccount = requireAccount(
          await tx.accounts.findById(request.payerAccountId),
          request.payerAccountId,
        );
        if (payerAccount.kind !== AccountKind.UserWallet) {
          throw new CellError(
            CellErrorCode.AccountKindNotAllowed,
            'the payer must be a user wallet',
          );
        }
        requireCurrency(payerAccount, currency);
        const payee = await tx.accounts.findByKey(AccountKind.Merchant, merchantId, currency);
        if (payee === undefined) {
          throw new CellError(
            CellErrorCode.AccountNotFound,
            `merchant ${merchantId} has no ${currency} account in this cell`,
          );
        }
        const now = this.clock.now();
        const created: Payment = {
          id: this.ids.next('payment', payer.slot),
          merchantId,
          outTradeNo,
          payerAccountId: payerAccount.id,
          payeeAccountId: payee.id,
          currency,
          amountMinor,
          capturedMinor: 0n,
          refundedMinor: 0n,
          status: PaymentStatus.Created,
          createdAt: now,
          updatedAt: now,
        };
        let payment: Payment;
        if (mode === 'pay') {
          const journal = movement(
            {
              id: this.ids.next('journal', payer.slot),
              kind: JournalKind.Payment,
              referenceId: created.id,
              createdAt: now,
            },
            payerAccount.id,
            payee.id,
            amountMinor,
            currency,
          );
          await this.ledger.post(tx, journal);
          payment = {
            ...transition(created, PaymentStatus.Captured, now),
            capturedMinor: amountMinor,
          };
        } else {
          const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
          const hold = await this.holds.place(
            tx,
            payerAccount.id,
            amountMinor,
            currency,
            expiresAt,
          );
          payment = {
            ...transition(created, PaymentStatus.Authorized, now),
            holdId: hold.id,
            authorizationExpiresAt: expiresAt,
          };
        }
        await tx.payments.insert(payment);
        return paymentView(payment);
      },
    );
  }
}
