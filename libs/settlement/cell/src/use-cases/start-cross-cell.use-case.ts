import { Inject, Injectable } from '@nestjs/common';

import { LedgerPoster, type MoveMoneyRequest } from '@cellpay/cell-account';
import {
  AccountKind,
  CellError,
  CellErrorCode,
  type CellTransaction,
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
  type Transfer,
  TransferKind,
  transition,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import {
  type CellSettings,
  cellSettingsToken,
  clockToken,
  idGeneratorToken,
  runIdempotent,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';
import {
  type CreatePaymentRequest,
  lockMerchantPayment,
  type RefundPaymentRequest,
} from '@cellpay/cell-payment';
import type { CurrencyCode } from '@cellpay/money';
import { currentRequestContext } from '@cellpay/observability';
import {
  CrossCellRefundState,
  settlementSchemaVersion,
  SettlementEventType,
  SettlementState,
} from '@cellpay/settlement-domain';

import type { CellRouter } from '../cell-router';
import { ClearingAccounts } from '../clearing-accounts';
import { type SagaRecord, type SettlementStore } from '../settlement-records';
import { SettlementError, SettlementErrorCode } from '../settlement.exception';
import { cellRouterToken, settlementStoreToken } from '../tokens';
import { type SagaView, sagaView } from '../settlement-views';

/** The event ID of a saga step: deterministic, so each step of a saga exists once. */
export function stepEventId(sagaId: string, type: SettlementEventType): string {
  return `${sagaId}.${type}`;
}

/**
 * The payer's side of cross-cell pay, transfer and refund. The payer's cell debits the payer and
 * credits its clearing account for the payee's cell, writes the business record, the saga row and
 * the outbox row, all in ONE shard transaction; the payer sees success at once (`settling`). A
 * refund reserves its amount against the payment (`pending`) and asks the merchant's cell to debit
 * the merchant; money moves back only when that cell confirms (docs/settlement.md).
 */
@Injectable()
export class StartCrossCellUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    @Inject(cellSettingsToken) private readonly settings: CellSettings,
    @Inject(settlementStoreToken) private readonly store: SettlementStore,
    @Inject(cellRouterToken) private readonly router: CellRouter,
    private readonly ledger: LedgerPoster,
    private readonly clearing: ClearingAccounts,
  ) {}

  /** Pay a merchant who lives in another cell, in one step. */
  async pay(request: CreatePaymentRequest): Promise<SagaView> {
    const merchantId = checkExternalId('merchant_id', request.merchantId);
    const outTradeNo = checkExternalId('out_trade_no', request.outTradeNo);
    const payer = parseId(request.payerAccountId, 'account');
    const currency = checkCurrency(request.currency);
    const amountMinor = checkAmount(request.amountMinor, currency);
    const destination = this.remoteCell(this.router.cellOfUser(merchantId));
    const clearingId = await this.clearing.idFor(destination, currency);
    return runIdempotent(
      this.unitOfWork,
      'settlement.pay',
      { scope: `payment:${merchantId}`, key: outTradeNo, request: { mode: 'pay', ...request } },
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
        const now = this.clock.now();
        const paymentId = this.ids.next('payment', payer.slot);
        await this.ledger.post(
          tx,
          movement(
            {
              id: this.ids.next('journal', payer.slot),
              kind: JournalKind.Payment,
              referenceId: paymentId,
              createdAt: now,
            },
            payerAccount.id,
            clearingId,
            amountMinor,
            currency,
          ),
        );
        // The payer's cell knows the merchant only through its clearing account: that is where
        // the payment's money went, and what reconciliation checks the payment against.
        const created: Payment = {
          id: paymentId,
          merchantId,
          outTradeNo,
          payerAccountId: payerAccount.id,
          payeeAccountId: clearingId,
          currency,
          amountMinor,
          capturedMinor: amountMinor,
          refundedMinor: 0n,
          status: PaymentStatus.Created,
          createdAt: now,
          updatedAt: now,
        };
        await tx.payments.insert(transition(created, PaymentStatus.Captured, now));
        return this.startSaga(tx, {
          saga: this.sagaOf(paymentId, 'payment', destination, amountMinor, currency, now),
          type: SettlementEventType.CreditRequested,
          accountId: merchantId,
          attributes: { kind: 'payment', merchantId },
        });
      },
    );
  }

  /** Transfer from an account of this cell to an account that lives in another cell. */
  async transfer(request: MoveMoneyRequest): Promise<SagaView> {
    const clientId = checkExternalId('client_id', request.clientId);
    const requestId = checkExternalId('request_id', request.requestId);
    const from = parseId(request.fromAccountId, 'account');
    const to = parseId(request.toAccountId, 'account');
    const currency = checkCurrency(request.currency);
    const amountMinor = checkAmount(request.amountMinor, currency);
    const destination = this.remoteCell(this.router.cellOfSlot(to.slot));
    const clearingId = await this.clearing.idFor(destination, currency);
    return runIdempotent(
      this.unitOfWork,
      'settlement.transfer',
      {
        scope: `account:${clientId}`,
        key: requestId,
        request: { kind: TransferKind.Transfer, ...request },
      },
      async (tx) => {
        const source = requireAccount(
          await tx.accounts.findById(request.fromAccountId),
          request.fromAccountId,
        );
        if (source.kind !== AccountKind.UserWallet && source.kind !== AccountKind.Merchant) {
          throw new CellError(
            CellErrorCode.AccountKindNotAllowed,
            `a transfer cannot move money from a ${source.kind} account`,
          );
        }
        requireCurrency(source, currency);
        const now = this.clock.now();
        const transferId = this.ids.next('transfer', from.slot);
        const journal = movement(
          {
            id: this.ids.next('journal', from.slot),
            kind: JournalKind.Transfer,
            referenceId: transferId,
            createdAt: now,
          },
          source.id,
          clearingId,
          amountMinor,
          currency,
        );
        await this.ledger.post(tx, journal);
        const transfer: Transfer = {
          id: transferId,
          kind: TransferKind.Transfer,
          fromAccountId: source.id,
          toAccountId: request.toAccountId,
          amountMinor,
          currency,
          journalId: journal.id,
          createdAt: now,
        };
        await tx.transfers.insert(transfer);
        return this.startSaga(tx, {
          saga: this.sagaOf(transferId, 'transfer', destination, amountMinor, currency, now),
          type: SettlementEventType.CreditRequested,
          accountId: request.toAccountId,
          attributes: { kind: 'transfer' },
        });
      },
    );
  }

  /** Refund (part of) a cross-cell payment: `pending` until the merchant's cell answers. */
  async refund(request: RefundPaymentRequest): Promise<SagaView> {
    const merchantId = checkExternalId('merchant_id', request.merchantId);
    const outRefundNo = checkExternalId('out_refund_no', request.outRefundNo);
    const { slot } = parseId(request.paymentId, 'payment');
    return runIdempotent(
      this.unitOfWork,
      'settlement.refund',
      { scope: `payment:${merchantId}`, key: `refund:${outRefundNo}`, request },
      async (tx) => {
        const payment = await lockMerchantPayment(tx, merchantId, request.paymentId);
        const records = this.store.in(tx);
        const paymentSaga = await records.findSaga(payment.id);
        if (paymentSaga === undefined || paymentSaga.kind !== 'payment') {
          throw new SettlementError(
            SettlementErrorCode.PaymentNotCrossCell,
            `payment ${payment.id} settled inside this cell`,
          );
        }
        const amountMinor = checkAmount(request.amountMinor, payment.currency);
        const refundable = [
          PaymentStatus.Captured,
          PaymentStatus.PartlyCaptured,
          PaymentStatus.PartlyRefunded,
        ].includes(payment.status);
        const pendingMinor = await records.pendingRefundsOf(payment.id);
        if (!refundable) {
          throw new CellError(
            CellErrorCode.InvalidStateTransition,
            `payment ${payment.id} cannot be refunded from ${payment.status}`,
          );
        }
        if (payment.refundedMinor + pendingMinor + amountMinor > payment.capturedMinor) {
          throw new CellError(
            CellErrorCode.RefundExceedsCaptured,
            `refunds of ${payment.refundedMinor} (+${pendingMinor} pending) and ${amountMinor} ` +
              `would exceed the ${payment.capturedMinor} captured on ${payment.id}`,
          );
        }
        const now = this.clock.now();
        const refundId = this.ids.next('refund', slot);
        return this.startSaga(tx, {
          saga: {
            ...this.sagaOf(
              refundId,
              'refund',
              paymentSaga.counterpartyCellId,
              amountMinor,
              payment.currency,
              now,
            ),
            paymentId: payment.id,
          },
          type: SettlementEventType.RefundDebitRequested,
          accountId: merchantId,
          attributes: { merchantId, paymentId: payment.id, outRefundNo },
        });
      },
    );
  }

  private remoteCell(cellId: string): string {
    if (cellId === this.settings.cellId) {
      throw new SettlementError(
        SettlementErrorCode.PayeeInThisCell,
        `the payee lives in ${cellId}, this cell: use the local operation`,
      );
    }
    return cellId;
  }

  private sagaOf(
    sagaId: string,
    kind: SagaRecord['kind'],
    counterpartyCellId: string,
    amountMinor: bigint,
    currency: CurrencyCode,
    now: Date,
  ): SagaRecord {
    const state = kind === 'refund' ? CrossCellRefundState.Pending : SettlementState.Settling;
    return {
      sagaId,
      kind,
      state,
      counterpartyCellId,
      amountMinor,
      currency,
      createdAt: now,
      updatedAt: now,
    };
  }

  private async startSaga(
    tx: CellTransaction,
    step: {
      readonly saga: SagaRecord;
      readonly type: SettlementEventType;
      readonly accountId: string;
      readonly attributes: Readonly<Record<string, string>>;
    },
  ): Promise<SagaView> {
    const records = this.store.in(tx);
    await records.insertSaga(step.saga);
    await records.appendOutbox({
      schemaVersion: settlementSchemaVersion,
      eventId: stepEventId(step.saga.sagaId, step.type),
      type: step.type,
      sourceCellId: this.settings.cellId,
      destinationCellId: step.saga.counterpartyCellId,
      sagaId: step.saga.sagaId,
      accountId: step.accountId,
      amountMinor: step.saga.amountMinor,
      currency: step.saga.currency,
      createdAtMs: step.saga.createdAt.getTime(),
      // The mark follows the table set the saga is written to, so the event can never claim
      // otherwise; the request ID is the caller's, or the saga's when no request context exists.
      stress: tx.handle.shadow,
      requestId: currentRequestContext()?.requestId ?? step.saga.sagaId,
      attributes: step.attributes,
    });
    return sagaView(step.saga);
  }
}
