import { LedgerPoster } from '@cellpay/cell-account';
import { GeneralLedgerPoster } from '@cellpay/cell-accounting';
import { runIdempotent } from '@cellpay/cell-data-access';
import {
  AccountKind,
  CellError,
  CellErrorCode,
  type Clock,
  type IdGenerator,
  JournalKind,
  movement,
  parseId,
  requireAccount,
  requireCurrency,
} from '@cellpay/cell-domain';
import { checkAmount, checkCurrency } from '@cellpay/cell-domain';
import {
  type ApplyOutcome,
  type EventApplier,
  PermanentEventError,
} from '@cellpay/settlement-messaging';
import {
  type SettlementEvent,
  SettlementEventType,
  settlementSchemaVersion,
} from '@cellpay/settlement-domain';

import type { CrashableUnitOfWork } from '../cell/crashable-unit-of-work';
import type { SimInboxTable, SimOutboxTable } from './settlement-tables';

/** Test-only hooks that plant known bugs, to prove the simulator catches them. */
export interface PlantedBugs {
  /** The applier forgets to look in its inbox, so a redelivered event is applied again. */
  readonly skipInboxDedup?: boolean;
  /** The cell forgets to check that it owns the request's slot, unfrozen, at its epoch. */
  readonly skipSlotOwnershipCheck?: boolean;
}

export interface CrossCellTransferRequest {
  readonly clientId: string;
  readonly requestId: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly destinationCellId: string;
  readonly amountMinor: string;
  readonly currency: string;
}

export interface CrossCellTransferView {
  readonly transferId: string;
  readonly eventId: string;
  readonly fromAccountId: string;
  readonly clearingAccountId: string;
  readonly toAccountId: string;
  readonly destinationCellId: string;
  readonly amountMinor: string;
  readonly currency: string;
}

function ledgerPoster(clock: Clock): LedgerPoster {
  return new LedgerPoster(new GeneralLedgerPoster({ isGlPostingDeferred: () => false }, clock));
}

/**
 * The payer's half of a cross-cell transfer, built for the simulator until the real shard side of
 * settlement lands: in one shard transaction, debit the payer, credit the clearing account of the
 * destination cell and write the outbox row; idempotent on (client, request ID) like every cell
 * operation. It uses the cell's real ledger poster and idempotency runner.
 */
export class SimCrossCellTransfer {
  private readonly ledger: LedgerPoster;

  constructor(
    private readonly cellId: string,
    private readonly unitOfWork: CrashableUnitOfWork,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly outbox: SimOutboxTable,
  ) {
    this.ledger = ledgerPoster(clock);
  }

  execute(request: CrossCellTransferRequest): Promise<CrossCellTransferView> {
    const from = parseId(request.fromAccountId, 'account');
    parseId(request.toAccountId, 'account');
    const currency = checkCurrency(request.currency);
    const amountMinor = checkAmount(request.amountMinor, currency);
    if (request.destinationCellId === this.cellId) {
      throw new CellError(CellErrorCode.SameAccount, 'a cross-cell transfer must leave the cell');
    }
    return runIdempotent(
      this.unitOfWork,
      'sim.cross_cell_transfer',
      {
        scope: `account:${request.clientId}`,
        key: request.requestId,
        request: { kind: 'cross_cell_transfer', ...request },
      },
      async (tx) => {
        const source = requireAccount(
          await tx.accounts.findById(request.fromAccountId),
          request.fromAccountId,
        );
        if (source.kind !== AccountKind.UserWallet) {
          throw new CellError(CellErrorCode.AccountKindNotAllowed, 'the payer must be a wallet');
        }
        requireCurrency(source, currency);
        const clearing = requireAccount(
          await tx.accounts.findByKey(AccountKind.Clearing, request.destinationCellId, currency),
          `clearing[${request.destinationCellId}]`,
        );
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
          clearing.id,
          amountMinor,
          currency,
        );
        await this.ledger.post(tx, journal);
        const event: SettlementEvent = {
          schemaVersion: settlementSchemaVersion,
          eventId: `${transferId}.credit`,
          type: SettlementEventType.CreditRequested,
          sourceCellId: this.cellId,
          destinationCellId: request.destinationCellId,
          sagaId: transferId,
          accountId: request.toAccountId,
          amountMinor,
          currency,
          createdAtMs: now.getTime(),
          stress: false,
          requestId: request.requestId,
          attributes: {},
        };
        this.outbox.append(tx, event);
        const view: CrossCellTransferView = {
          transferId,
          eventId: event.eventId,
          fromAccountId: source.id,
          clearingAccountId: clearing.id,
          toAccountId: request.toAccountId,
          destinationCellId: request.destinationCellId,
          amountMinor: amountMinor.toString(),
          currency,
        };
        return view;
      },
    );
  }
}

/**
 * The payee's half: debit the clearing account of the source cell and credit the payee, with the
 * inbox row, in one shard transaction. Plugs into the real `InboxConsumer` through `EventApplier`.
 */
export class SimEventApplier implements EventApplier {
  private readonly ledger: LedgerPoster;

  constructor(
    private readonly unitOfWork: CrashableUnitOfWork,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly inbox: SimInboxTable,
    private readonly bugs: PlantedBugs,
    private readonly onApplied: (event: SettlementEvent) => void,
  ) {
    this.ledger = ledgerPoster(clock);
  }

  apply(event: SettlementEvent): Promise<ApplyOutcome> {
    if (event.type !== SettlementEventType.CreditRequested) {
      throw new PermanentEventError('unsupported', `the simulator does not apply ${event.type}`);
    }
    return this.unitOfWork.run('sim.settlement.apply', async (tx) => {
      if (!this.bugs.skipInboxDedup && this.inbox.has(event.eventId)) return 'duplicate';
      const currency = checkCurrency(event.currency);
      const payee = await tx.accounts.findById(event.accountId);
      const clearing = await tx.accounts.findByKey(
        AccountKind.Clearing,
        event.sourceCellId,
        currency,
      );
      if (payee === undefined || clearing === undefined) {
        throw new PermanentEventError('unknown_account', `no account for ${event.eventId}`);
      }
      this.inbox.insert(tx, event.eventId);
      const slot = parseId(payee.id, 'account').slot;
      await this.ledger.post(
        tx,
        movement(
          {
            id: this.ids.next('journal', slot),
            kind: JournalKind.Transfer,
            referenceId: event.sagaId,
            createdAt: this.clock.now(),
          },
          clearing.id,
          payee.id,
          event.amountMinor,
          currency,
        ),
      );
      this.unitOfWork.afterCommit(() => this.onApplied(event));
      return 'applied';
    });
  }
}
