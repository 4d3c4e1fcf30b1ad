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
  requireAccount,
  type Transfer,
  TransferKind,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import {
  clockToken,
  idGeneratorToken,
  runIdempotent,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';

import { type TransferView, transferView } from '../account-views';
import { LedgerPoster } from '../ledger-poster';

export interface MoveMoneyRequest {
  /** The calling system; its request IDs form the idempotency key space. */
  readonly clientId: string;
  readonly requestId: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amountMinor: string;
  readonly currency: string;
}

/**
 * Top-up (from an external funding account into a wallet or merchant account) and transfer
 * (between two customer accounts of the cell): one journal, one business record, one transaction.
 */
@Injectable()
export class MoveMoneyUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    private readonly ledger: LedgerPoster,
  ) {}

  async execute(
    kind: TransferKind.TopUp | TransferKind.Transfer,
    request: MoveMoneyRequest,
  ): Promise<TransferView> {
    const clientId = checkExternalId('client_id', request.clientId);
    const requestId = checkExternalId('request_id', request.requestId);
    const from = parseId(request.fromAccountId, 'account');
    parseId(request.toAccountId, 'account');
    const currency = checkCurrency(request.currency);
    const amountMinor = checkAmount(request.amountMinor, currency);
    if (request.fromAccountId === request.toAccountId) {
      throw new CellError(CellErrorCode.SameAccount, 'cannot move money from an account to itself');
    }
    return runIdempotent(
      this.unitOfWork,
      `account.${kind}`,
      { scope: `account:${clientId}`, key: requestId, request: { kind, ...request } },
      async (tx) => {
        const source = requireAccount(
          await tx.accounts.findById(request.fromAccountId),
          request.fromAccountId,
        );
        const target = requireAccount(
          await tx.accounts.findById(request.toAccountId),
          request.toAccountId,
        );
        const customerKinds = [AccountKind.UserWallet, AccountKind.Merchant];
        const allowed =
          kind === TransferKind.TopUp
            ? source.kind === AccountKind.ExternalFunding && customerKinds.includes(target.kind)
            : customerKinds.includes(source.kind) && customerKinds.includes(target.kind);
        if (!allowed) {
          throw new CellError(
            CellErrorCode.AccountKindNotAllowed,
            `a ${kind} cannot move money from a ${source.kind} to a ${target.kind} account`,
          );
        }
        const now = this.clock.now();
        const transferId = this.ids.next('transfer', from.slot);
        const journal = movement(
          {
            id: this.ids.next('journal', from.slot),
            kind: kind === TransferKind.TopUp ? JournalKind.TopUp : JournalKind.Transfer,
            referenceId: transferId,
            createdAt: now,
          },
          source.id,
          target.id,
          amountMinor,
          currency,
        );
        await this.ledger.post(tx, journal);
        const transfer: Transfer = {
          id: transferId,
          kind,
          fromAccountId: source.id,
          toAccountId: target.id,
          amountMinor,
          currency,
          journalId: journal.id,
          createdAt: now,
        };
        await tx.transfers.insert(transfer);
        return transferView(transfer);
      },
    );
  }
}
