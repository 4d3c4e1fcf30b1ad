import { Inject, Injectable } from '@nestjs/common';

import {
  CellError,
  CellErrorCode,
  checkAmount,
  checkCurrency,
  checkExternalId,
  type Clock,
  type IdGenerator,
  holdTtlSecondsMax,
  HoldStatus,
  JournalKind,
  parseId,
  requireAccount,
  TransferKind,
  type UnitOfWork,
} from '@cellpay/cell-domain';
import {
  clockToken,
  idGeneratorToken,
  runIdempotent,
  unitOfWorkToken,
} from '@cellpay/cell-data-access';

import { type HoldView, holdView, type TransferView, transferView } from '../account-views';
import { HoldLedger } from '../hold-ledger';

export interface PlaceHoldRequest {
  readonly clientId: string;
  readonly requestId: string;
  readonly accountId: string;
  readonly amountMinor: string;
  readonly currency: string;
  readonly ttlSeconds: number;
}

export interface CaptureHoldRequest {
  readonly clientId: string;
  readonly requestId: string;
  readonly holdId: string;
  readonly toAccountId: string;
  readonly amountMinor: string;
}

export function checkTtlSeconds(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > holdTtlSecondsMax) {
    throw new CellError(
      CellErrorCode.MalformedField,
      `ttl_seconds must be an integer from 1 to ${holdTtlSecondsMax}, got ${value}`,
    );
  }
  return value;
}

/** Holds on the account service's own API: place, capture (fully or partly), void. */
@Injectable()
export class HoldsUseCase {
  constructor(
    @Inject(unitOfWorkToken) private readonly unitOfWork: UnitOfWork,
    @Inject(clockToken) private readonly clock: Clock,
    @Inject(idGeneratorToken) private readonly ids: IdGenerator,
    private readonly holds: HoldLedger,
  ) {}

  async place(request: PlaceHoldRequest): Promise<HoldView> {
    const clientId = checkExternalId('client_id', request.clientId);
    const requestId = checkExternalId('request_id', request.requestId);
    parseId(request.accountId, 'account');
    const currency = checkCurrency(request.currency);
    const amountMinor = checkAmount(request.amountMinor, currency);
    const ttlSeconds = checkTtlSeconds(request.ttlSeconds);
    return runIdempotent(
      this.unitOfWork,
      'account.place_hold',
      { scope: `account:${clientId}`, key: requestId, request: { op: 'place_hold', ...request } },
      async (tx) => {
        const expiresAt = new Date(this.clock.now().getTime() + ttlSeconds * 1000);
        return holdView(
          await this.holds.place(tx, request.accountId, amountMinor, currency, expiresAt),
        );
      },
    );
  }

  async capture(request: CaptureHoldRequest): Promise<TransferView> {
    const clientId = checkExternalId('client_id', request.clientId);
    const requestId = checkExternalId('request_id', request.requestId);
    const { slot } = parseId(request.holdId, 'hold');
    parseId(request.toAccountId, 'account');
    return runIdempotent(
      this.unitOfWork,
      'account.capture_hold',
      { scope: `account:${clientId}`, key: requestId, request: { op: 'capture_hold', ...request } },
      async (tx) => {
        const hold = await tx.holds.findById(request.holdId);
        if (hold === undefined)
          throw new CellError(CellErrorCode.HoldNotFound, `no hold ${request.holdId}`);
        requireAccount(await tx.accounts.findById(request.toAccountId), request.toAccountId);
        const amountMinor = checkAmount(request.amountMinor, hold.currency);
        const transferId = this.ids.next('transfer', slot);
        const { journal } = await this.holds.capture(
          tx,
          hold.id,
          request.toAccountId,
          amountMinor,
          {
            kind: JournalKind.Capture,
            referenceId: transferId,
          },
        );
        const transfer = {
          id: transferId,
          kind: TransferKind.HoldCapture,
          fromAccountId: hold.accountId,
          toAccountId: request.toAccountId,
          amountMinor,
          currency: hold.currency,
          journalId: journal.id,
          createdAt: journal.createdAt,
        };
        await tx.transfers.insert(transfer);
        return transferView(transfer);
      },
    );
  }

  async void(holdId: string): Promise<HoldView> {
    parseId(holdId, 'hold');
    return this.unitOfWork.run('account.void_hold', async (tx) =>
      holdView(await this.holds.release(tx, holdId, HoldStatus.Voided)),
    );
  }

  /** Releases up to `limit` holds that are past their expiry; returns how many. */
  async expire(limit: number): Promise<number> {
    return this.unitOfWork.run('account.expire_holds', async (tx) => {
      const expired = await tx.holds.listExpiredOpen(this.clock.now(), limit);
      for (const hold of expired) await this.holds.release(tx, hold.id, HoldStatus.Expired);
      return expired.length;
    });
  }
}
