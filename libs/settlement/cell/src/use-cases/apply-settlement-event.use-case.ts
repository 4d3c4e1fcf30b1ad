import { Inject, Injectable } from '@nestjs/common';

import { LedgerPoster } from '@cellpay/cell-account';
import {
  type Account,
  AccountKind,
  availableMinor,
  CellError,
  type CellTransaction,
  type Clock,
  type IdGenerator,
  JournalKind,
  movement,
  parseId,
  type Payment,
  refundPayment,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import {
  type CellSettings,
  cellSettingsToken,
  clockToken,
  idGeneratorToken,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';
import { type CurrencyCode } from '@cellpay/money';
import { currentRequestContext, runInRequestContext } from '@cellpay/observability';
import {
  canFinishRefund,
  canSettle,
  CrossCellRefundState,
  type SettlementEvent,
  SettlementEventType,
  settlementSchemaVersion,
  SettlementState,
} from '@cellpay/settlement-domain';
import {
  type ApplyOutcome,
  type EventApplier,
  PermanentEventError,
} from '@cellpay/settlement-messaging';

import { ClearingAccounts } from '../clearing-accounts';
import type { SagaRecord, SettlementRecords, SettlementStore } from '../settlement-records';
import { settlementStoreToken } from '../tokens';
import { stepEventId } from './start-cross-cell.use-case';

/** Signals a redelivered event inside the unit of work, so nothing of it commits. */
class AlreadyApplied extends Error {}

/**
 * Applies one inbound settlement event in this cell: the effect and the inbox row (keyed by event
 * ID), and any reply event in the outbox, in ONE shard transaction. A redelivery finds the inbox
 * row and reports `duplicate`. An event that can never apply as it is (unknown account, currency
 * mismatch, unknown saga) is a `PermanentEventError`: it is dead-lettered and nothing commits, so a
 * replay after the fix applies it once.
 */
@Injectable()
export class ApplySettlementEventUseCase implements EventApplier {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    @Inject(cellSettingsToken) private readonly settings: CellSettings,
    @Inject(settlementStoreToken) private readonly store: SettlementStore,
    private readonly ledger: LedgerPoster,
    private readonly clearing: ClearingAccounts,
  ) {}

  /**
   * Applies inside the caller's request context (the consumer restores it from the Kafka headers),
   * or inside the event's own when there is none, so logs carry the request ID either way.
   */
  apply(event: SettlementEvent): Promise<ApplyOutcome> {
    if (currentRequestContext() !== undefined) return this.applyInContext(event);
    return runInRequestContext({ requestId: event.requestId, stress: event.stress }, () =>
      this.applyInContext(event),
    );
  }

  private async applyInContext(event: SettlementEvent): Promise<ApplyOutcome> {
    if (event.destinationCellId !== this.settings.cellId) {
      throw new PermanentEventError('misrouted', `event for ${event.destinationCellId}`);
    }
    const movesMoney =
      event.type === SettlementEventType.CreditRequested ||
      event.type === SettlementEventType.RefundDebitRequested ||
      event.type === SettlementEventType.RefundDebitApplied;
    const clearingId = movesMoney
      ? await this.clearing.idFor(event.sourceCellId, event.currency)
      : '';
    try {
      await this.unitOfWork.run(`settlement.apply.${event.type}`, async (tx) => {
        // The consumer enters the event's stress context before applying; a stress event in the
        // live tables (or the reverse) would mix shadow and real money, so it is refused.
        if (tx.handle.shadow !== event.stress) {
          throw new PermanentEventError(
            'stress_mark_mismatch',
            `a ${event.stress ? 'stress' : 'live'} event reached the ${tx.handle.shadow ? 'shadow' : 'live'} tables`,
          );
        }
        const records = this.store.in(tx);
        switch (event.type) {
          case SettlementEventType.CreditRequested:
            return this.applyCredit(tx, records, event, clearingId);
          case SettlementEventType.CreditApplied:
            return this.settle(records, event);
          case SettlementEventType.RefundDebitRequested:
            return this.debitMerchant(tx, records, event, clearingId);
          case SettlementEventType.RefundDebitApplied:
            return this.creditPayer(tx, records, event, clearingId);
          case SettlementEventType.RefundDebitRefused:
            return this.refuseRefund(records, event);
        }
      });
      return 'applied';
    } catch (error) {
      if (error instanceof AlreadyApplied) return 'duplicate';
      if (error instanceof CellError) {
        // A rule of the ledger refused the event as it is (unknown account, wrong currency, a
        // wallet that may not receive it): retrying cannot help; an operator must look.
        throw new PermanentEventError(error.code, error.message);
      }
      throw error;
    }
  }

  private async claim(
    records: SettlementRecords,
    event: SettlementEvent,
    outcome = 'applied',
  ): Promise<void> {
    const claimed = await records.claimInbox({
      eventId: event.eventId,
      type: event.type,
      sourceCellId: event.sourceCellId,
      sagaId: event.sagaId,
      amountMinor: event.amountMinor,
      currency: event.currency,
      outcome,
      appliedAt: this.clock.now(),
    });
    if (!claimed) throw new AlreadyApplied();
  }

  /** Payee's cell: debit clearing[source], credit the payee; confirm with `credit_applied`. */
  private async applyCredit(
    tx: CellTransaction,
    records: SettlementRecords,
    event: SettlementEvent,
    clearingId: string,
  ): Promise<void> {
    await this.claim(records, event);
    const payee = await this.payeeOf(tx, event);
    await this.ledger.post(
      tx,
      movement(
        this.journalHeader(event, payee.id),
        clearingId,
        payee.id,
        event.amountMinor,
        event.currency as CurrencyCode,
      ),
    );
    await this.reply(records, event, SettlementEventType.CreditApplied, event.attributes);
  }

  /** Payer's cell: the payee was credited; the payment or transfer is settled. */
  private async settle(records: SettlementRecords, event: SettlementEvent): Promise<void> {
    await this.claim(records, event);
    const saga = await this.lockSaga(records, event);
    if (!canSettle(saga.state as SettlementState, SettlementState.Settled)) {
      throw new PermanentEventError(
        'invalid_state_transition',
        `saga ${saga.sagaId} cannot settle from ${saga.state}`,
      );
    }
    await records.updateSaga({
      ...saga,
      state: SettlementState.Settled,
      updatedAt: this.clock.now(),
    });
  }

  /** Merchant's cell: debit the merchant if it can cover the refund, or refuse cleanly. */
  private async debitMerchant(
    tx: CellTransaction,
    records: SettlementRecords,
    event: SettlementEvent,
    clearingId: string,
  ): Promise<void> {
    const merchant = await this.payeeOf(tx, event);
    const [locked] = (await tx.accounts.lockForUpdate([merchant.id])).values();
    if (locked === undefined || availableMinor(locked) < event.amountMinor) {
      await this.claim(records, event, 'refused: insufficient_funds');
      await this.reply(records, event, SettlementEventType.RefundDebitRefused, {
        ...event.attributes,
        reason: 'insufficient_funds',
      });
      return;
    }
    await this.claim(records, event);
    await this.ledger.post(
      tx,
      movement(
        this.journalHeader(event, merchant.id),
        merchant.id,
        clearingId,
        event.amountMinor,
        event.currency as CurrencyCode,
      ),
    );
    await this.reply(records, event, SettlementEventType.RefundDebitApplied, event.attributes);
  }

  /** Payer's cell: the merchant was debited; credit the payer against clearing, refund succeeded. */
  private async creditPayer(
    tx: CellTransaction,
    records: SettlementRecords,
    event: SettlementEvent,
    clearingId: string,
  ): Promise<void> {
    await this.claim(records, event);
    const saga = await this.lockPendingRefund(records, event, CrossCellRefundState.Succeeded);
    const payment = await this.paymentOf(tx, saga);
    const now = this.clock.now();
    const next = refundPayment(payment, saga.amountMinor, now);
    const { slot } = parseId(saga.sagaId, 'refund');
    const journal = movement(
      {
        id: this.ids.next('journal', slot),
        kind: JournalKind.Refund,
        referenceId: saga.sagaId,
        createdAt: now,
      },
      clearingId,
      payment.payerAccountId,
      saga.amountMinor,
      saga.currency,
    );
    await this.ledger.post(tx, journal);
    await tx.refunds.insert({
      id: saga.sagaId,
      paymentId: payment.id,
      merchantId: payment.merchantId,
      outRefundNo: event.attributes['outRefundNo'] ?? saga.sagaId,
      amountMinor: saga.amountMinor,
      currency: saga.currency,
      journalId: journal.id,
      createdAt: now,
    });
    await tx.payments.update(next);
    await records.updateSaga({ ...saga, state: CrossCellRefundState.Succeeded, updatedAt: now });
  }

  /** Payer's cell: the merchant's cell refused; the refund failed and no money moved. */
  private async refuseRefund(records: SettlementRecords, event: SettlementEvent): Promise<void> {
    await this.claim(records, event);
    const saga = await this.lockPendingRefund(records, event, CrossCellRefundState.Failed);
    await records.updateSaga({
      ...saga,
      state: CrossCellRefundState.Failed,
      reason: event.attributes['reason'] ?? 'refused',
      updatedAt: this.clock.now(),
    });
  }

  private async payeeOf(tx: CellTransaction, event: SettlementEvent): Promise<Account> {
    const merchantId = event.attributes['merchantId'];
    const account =
      merchantId === undefined
        ? await tx.accounts.findById(event.accountId)
        : await tx.accounts.findByKey(
            AccountKind.Merchant,
            merchantId,
            event.currency as CurrencyCode,
          );
    if (account === undefined) {
      throw new PermanentEventError(
        'account_not_found',
        `no account ${merchantId ?? event.accountId} for ${event.currency} in ${this.settings.cellId}`,
      );
    }
    if (account.kind !== AccountKind.UserWallet && account.kind !== AccountKind.Merchant) {
      throw new PermanentEventError(
        'account_kind_not_allowed',
        `account ${account.id} is a ${account.kind} account`,
      );
    }
    return account;
  }

  private async lockSaga(records: SettlementRecords, event: SettlementEvent): Promise<SagaRecord> {
    const saga = await records.lockSaga(event.sagaId);
    if (saga === undefined) {
      throw new PermanentEventError('saga_not_found', `no saga ${event.sagaId} in this cell`);
    }
    return saga;
  }

  private async lockPendingRefund(
    records: SettlementRecords,
    event: SettlementEvent,
    to: CrossCellRefundState,
  ): Promise<SagaRecord> {
    const saga = await this.lockSaga(records, event);
    if (saga.kind !== 'refund' || !canFinishRefund(saga.state as CrossCellRefundState, to)) {
      throw new PermanentEventError(
        'invalid_state_transition',
        `saga ${saga.sagaId} (${saga.kind}, ${saga.state}) cannot become ${to}`,
      );
    }
    return saga;
  }

  private async paymentOf(tx: CellTransaction, saga: SagaRecord): Promise<Payment> {
    const payment =
      saga.paymentId === undefined ? undefined : await tx.payments.lockForUpdate(saga.paymentId);
    if (payment === undefined) {
      throw new PermanentEventError('payment_not_found', `refund ${saga.sagaId} has no payment`);
    }
    return payment;
  }

  private journalHeader(event: SettlementEvent, accountId: string) {
    const slot = parseId(accountId, 'account').slot;
    return {
      id: this.ids.next('journal', slot),
      kind: JournalKind.Settlement,
      referenceId: event.sagaId,
      createdAt: this.clock.now(),
    };
  }

  private async reply(
    records: SettlementRecords,
    event: SettlementEvent,
    type: SettlementEventType,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void> {
    await records.appendOutbox({
      schemaVersion: settlementSchemaVersion,
      eventId: stepEventId(event.sagaId, type),
      type,
      sourceCellId: this.settings.cellId,
      destinationCellId: event.sourceCellId,
      sagaId: event.sagaId,
      // Replies touch the saga's record in the cell that started it: key them by the saga.
      accountId: event.sagaId,
      amountMinor: event.amountMinor,
      currency: event.currency,
      createdAtMs: this.clock.now().getTime(),
      stress: event.stress,
      requestId: event.requestId,
      attributes,
    });
  }
}
