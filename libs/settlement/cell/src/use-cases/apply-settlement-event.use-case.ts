import { Inject, Injectable } from '@nestjs/common';

import { LedgerPoster } from '@cellpay/cell-account';
import {
  type Account,
  AccountKind,
  availableMinor,
  CellError,
  CellErrorCode,
  type CellTransaction,
  type Clock,
  type IdGenerator,
  JournalKind,
  movement,
  parseId,
  type Payment,
  refundPayment,
  type SlotOwnership,
  SlotNotWritableError,
  type UnitOfWork,
  userSlotOfAccountId,
} from '@cellpay/cell-domain';
import {
  type CellSettings,
  cellSettingsToken,
  clockToken,
  idGeneratorToken,
  slotOwnershipToken,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';
import { type CurrencyCode } from '@cellpay/money';
import { slotOf } from '@cellpay/routing';
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
 * A forwarded event names the routing epoch the forwarding cell decided by. A cell whose own table
 * is older cannot judge the slot yet (it could send the event back where it came from): the event
 * waits, retried by the consumer, until the cell's follower has caught up.
 */
export class RoutingBehindForwarderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoutingBehindForwarderError';
  }
}

/** The attribute a forwarded event carries: the epoch at which its forwarder saw the slot move. */
export const forwardedAtEpochAttribute = 'forwardedAtEpoch';

/** The inbox outcome of a forward, naming the cell the event was passed to. */
const forwardedOutcomePrefix = 'forwarded: ';

/** The request a reply answers: a forwarding cell passes the reply back to the request's sender. */
const requestOfReply: Readonly<Partial<Record<SettlementEventType, SettlementEventType>>> = {
  [SettlementEventType.CreditApplied]: SettlementEventType.CreditRequested,
  [SettlementEventType.RefundDebitApplied]: SettlementEventType.RefundDebitRequested,
  [SettlementEventType.RefundDebitRefused]: SettlementEventType.RefundDebitRequested,
};

/** Where an event goes instead of being applied here, and the clearing accounts that pass it on. */
interface Forward {
  readonly toCellId: string;
  /** Money events only: clearing[sender] is debited and clearing[next cell] credited. */
  readonly clearing?: { readonly fromId: string; readonly toId: string };
}

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
    @Inject(slotOwnershipToken) private readonly slotOwnership: SlotOwnership,
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
    try {
      const forward = await this.forwardOf(event);
      const clearingId =
        movesMoney && forward === undefined
          ? await this.clearing.idFor(event.sourceCellId, event.currency)
          : '';
      return await this.unitOfWork.run(`settlement.apply.${event.type}`, async (tx) => {
        // The consumer enters the event's stress context before applying; a stress event in the
        // live tables (or the reverse) would mix shadow and real money, so it is refused.
        if (tx.handle.shadow !== event.stress) {
          throw new PermanentEventError(
            'stress_mark_mismatch',
            `a ${event.stress ? 'stress' : 'live'} event reached the ${tx.handle.shadow ? 'shadow' : 'live'} tables`,
          );
        }
        const records = this.store.in(tx);
        if (forward !== undefined) {
          await this.passOn(tx, records, event, forward);
          return 'forwarded';
        }
        switch (event.type) {
          case SettlementEventType.CreditRequested:
            await this.applyCredit(tx, records, event, clearingId);
            break;
          case SettlementEventType.CreditApplied:
            await this.settle(records, event);
            break;
          case SettlementEventType.RefundDebitRequested:
            await this.debitMerchant(tx, records, event, clearingId);
            break;
          case SettlementEventType.RefundDebitApplied:
            await this.creditPayer(tx, records, event, clearingId);
            break;
          case SettlementEventType.RefundDebitRefused:
            await this.refuseRefund(records, event);
            break;
        }
        return 'applied';
      });
    } catch (error) {
      if (error instanceof AlreadyApplied) return 'duplicate';
      // The account's slot is frozen (or, between this check and the ledger's, moved): nothing
      // committed, and the consumer retries until the slot is writable here or owned elsewhere.
      if (error instanceof SlotNotWritableError) throw error;
      if (error instanceof CellError) {
        // A rule of the ledger refused the event as it is (unknown account, wrong currency, a
        // wallet that may not receive it): retrying cannot help; an operator must look.
        throw new PermanentEventError(error.code, error.message);
      }
      throw error;
    }
  }

  /**
   * Whether this cell must pass the event on instead of applying it (docs/decisions.md, "A
   * settlement event for an account whose slot moved is forwarded"):
   * a request (credit, refund debit) for an account whose slot another cell owns now goes to that
   * cell; a reply to a request this cell forwarded goes back to the request's sender. Undefined:
   * apply here. A frozen slot throws (retryable), and so does a forwarded event that names a newer
   * routing epoch than this cell follows.
   */
  private async forwardOf(event: SettlementEvent): Promise<Forward | undefined> {
    const request = requestOfReply[event.type];
    if (request !== undefined) return this.replyForwardOf(event, request);
    this.requireRoutingCaughtUp(event);
    const slot = this.addresseeSlotOf(event);
    if (slot === undefined) return undefined;
    const verdict = this.slotOwnership.verdictOf(slot);
    if (verdict.kind === 'owned') return undefined;
    if (verdict.kind === 'frozen') {
      throw new SlotNotWritableError(
        CellErrorCode.SlotFrozen,
        event.accountId,
        slot,
        verdict.epoch,
        `the addressee of ${event.eventId} is in slot ${slot}, frozen at epoch ${verdict.epoch}`,
      );
    }
    if (event.type !== SettlementEventType.CreditRequested)
      return { toCellId: verdict.ownerCellId };
    return {
      toCellId: verdict.ownerCellId,
      clearing: {
        fromId: await this.clearing.idFor(event.sourceCellId, event.currency),
        toId: await this.clearing.idFor(verdict.ownerCellId, event.currency),
      },
    };
  }

  private async replyForwardOf(
    event: SettlementEvent,
    request: SettlementEventType,
  ): Promise<Forward | undefined> {
    // The inbox row of a forward is written once and never changed: reading it before the
    // transaction that acts on it is safe.
    const forwarded = await this.unitOfWork.run('settlement.apply.find-forward', async (tx) => {
      const records = this.store.in(tx);
      if ((await records.findSaga(event.sagaId)) !== undefined) return undefined;
      return records.findInbox(stepEventId(event.sagaId, request));
    });
    if (forwarded?.outcome.startsWith(forwardedOutcomePrefix) !== true) return undefined;
    const toCellId = forwarded.sourceCellId;
    if (event.type !== SettlementEventType.RefundDebitApplied) return { toCellId };
    return {
      toCellId,
      clearing: {
        fromId: await this.clearing.idFor(event.sourceCellId, event.currency),
        toId: await this.clearing.idFor(toCellId, event.currency),
      },
    };
  }

  private requireRoutingCaughtUp(event: SettlementEvent): void {
    const forwardedAt = event.attributes[forwardedAtEpochAttribute];
    const epoch = this.slotOwnership.epoch();
    if (forwardedAt === undefined || epoch === undefined) return;
    if (!/^\d{1,19}$/.test(forwardedAt)) {
      throw new PermanentEventError(
        'malformed_field',
        `${forwardedAtEpochAttribute} '${forwardedAt}'`,
      );
    }
    if (BigInt(forwardedAt) > epoch) {
      throw new RoutingBehindForwarderError(
        `${event.eventId} was forwarded at epoch ${forwardedAt}; ${this.settings.cellId} follows epoch ${epoch}`,
      );
    }
  }

  /** The user slot of the account a request addresses (a merchant by user ID, else by account ID). */
  private addresseeSlotOf(event: SettlementEvent): number | undefined {
    const merchantId = event.attributes['merchantId'];
    if (merchantId !== undefined) return slotOf(merchantId, this.settings.slotCount);
    return userSlotOfAccountId(event.accountId);
  }

  /**
   * Passes the event on, in one transaction: the inbox row (so a redelivery here is a duplicate
   * and never forwards twice), for money the pair of clearing legs that makes this cell the
   * intermediary (clearing[sender] debited, clearing[next] credited: every pair of cells still
   * nets to what is in flight between them), and the event, under its own ID, in the outbox to
   * the next cell, whose inbox dedupes by that ID.
   */
  private async passOn(
    tx: CellTransaction,
    records: SettlementRecords,
    event: SettlementEvent,
    forward: Forward,
  ): Promise<void> {
    await this.claim(records, event, `${forwardedOutcomePrefix}${forward.toCellId}`);
    // Passed back to its own sender (the addressee moved into the sender's cell), the two legs
    // would be on one account: nothing moves, and no journal is written.
    if (forward.clearing !== undefined && forward.clearing.fromId !== forward.clearing.toId) {
      const { slot } = parseId(forward.clearing.fromId, 'account');
      await this.ledger.post(
        tx,
        movement(
          {
            id: this.ids.next('journal', slot),
            kind: JournalKind.Settlement,
            referenceId: event.sagaId,
            createdAt: this.clock.now(),
          },
          forward.clearing.fromId,
          forward.clearing.toId,
          event.amountMinor,
          event.currency as CurrencyCode,
        ),
      );
    }
    const epoch = this.slotOwnership.epoch();
    const isRequest = requestOfReply[event.type] === undefined;
    await records.appendOutbox({
      ...event,
      sourceCellId: this.settings.cellId,
      destinationCellId: forward.toCellId,
      attributes:
        isRequest && epoch !== undefined
          ? { ...event.attributes, [forwardedAtEpochAttribute]: epoch.toString() }
          : event.attributes,
    });
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
