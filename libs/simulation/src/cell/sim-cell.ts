import 'reflect-metadata';

import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AccountModule, AccountService } from '@cellpay/cell-account';
import { AccountingModule, AccountingService } from '@cellpay/cell-accounting';
import { canonicalJson, CellPersistenceModule, MemoryCellStore } from '@cellpay/cell-data-access';
import {
  AccountKind,
  CellError,
  type Clock,
  parseId,
  SequenceIdGenerator,
} from '@cellpay/cell-domain';
import { PaymentModule, PaymentService } from '@cellpay/cell-payment';
import type { RoutingTable } from '@cellpay/routing';

import { type PlantedBugs, SimCrossCellTransfer } from '../settlement/cross-cell-transfer';
import { SimInboxTable, SimOutboxTable } from '../settlement/settlement-tables';
import type { CellReply, CellRequest } from './cell-request';
import { simCurrency } from './cell-request';
import { CrashableUnitOfWork, type WriteObserver } from './crashable-unit-of-work';
import { ProcessCrashed, SimProcess } from './sim-process';

interface CellServices {
  readonly context: INestApplicationContext;
  readonly accounts: AccountService;
  readonly payments: PaymentService;
  readonly accounting: AccountingService;
  readonly crossCell: SimCrossCellTransfer;
}

/** The routing view a cell asks the global zone for when a request shows it is behind. */
export type RoutingSource = () => RoutingTable;

/**
 * One simulated cell: its shard (the real in-memory store plus the outbox and inbox tables), which
 * survives every crash, and its process, which runs the real account, payment and accounting
 * services in a NestJS context like the cell app does. The process checks slot ownership at its
 * routing epoch before it lets a request touch the shard.
 */
export class SimCell {
  readonly store = new MemoryCellStore();
  readonly outbox = new SimOutboxTable();
  readonly inbox = new SimInboxTable();
  readonly process: SimProcess;
  readonly relayProcess: SimProcess;
  readonly consumerProcess: SimProcess;
  readonly unitOfWork: CrashableUnitOfWork;
  readonly consumerUnitOfWork: CrashableUnitOfWork;
  private services: CellServices | undefined;
  private routingView: RoutingTable;
  /** The request being handled, if any: what a committed write is attributed to. */
  currentRequest: { readonly slot: number; readonly epoch: bigint } | undefined;
  fundingAccountId = '';

  constructor(
    readonly cellId: string,
    readonly cellNumber: number,
    private readonly clock: Clock,
    private readonly latestRouting: RoutingSource,
    observer: WriteObserver,
    private readonly bugs: PlantedBugs = {},
  ) {
    this.process = new SimProcess(`${cellId}/cell`);
    this.relayProcess = new SimProcess(`${cellId}/relay`);
    this.consumerProcess = new SimProcess(`${cellId}/consumer`);
    this.unitOfWork = new CrashableUnitOfWork(this.store, this.process, cellId, observer);
    this.consumerUnitOfWork = new CrashableUnitOfWork(
      this.store,
      this.consumerProcess,
      cellId,
      observer,
    );
    this.routingView = latestRouting();
  }

  get routing(): RoutingTable {
    return this.routingView;
  }

  /** Follows a newer routing table (never an older one: epochs only go forward). */
  adoptRouting(table: RoutingTable): void {
    if (table.epoch > this.routingView.epoch) this.routingView = table;
  }

  /** IDs that never repeat across restarts: the process incarnation is part of every ID. */
  idGenerator(process: SimProcess, letter: string): SequenceIdGenerator {
    return new SequenceIdGenerator(`C${this.cellNumber}${letter}${process.incarnation}`);
  }

  async start(): Promise<void> {
    this.process.boot();
    // A restarted process loads the current routing table before it serves.
    this.adoptRouting(this.latestRouting());
    const unitOfWork = this.unitOfWork;
    const ids = this.idGenerator(this.process, 'P');
    @Module({
      imports: [
        CellPersistenceModule.register({
          unitOfWork,
          clock: this.clock,
          idGenerator: ids,
          glPostingSwitch: { isGlPostingDeferred: () => false },
          settings: { cellId: this.cellId, slotCount: this.routingView.slotCount },
        }),
        AccountingModule,
        AccountModule,
        PaymentModule,
      ],
    })
    class SimCellModule {}
    const context = await NestFactory.createApplicationContext(SimCellModule, { logger: false });
    this.services = {
      context,
      accounts: context.get(AccountService),
      payments: context.get(PaymentService),
      accounting: context.get(AccountingService),
      crossCell: new SimCrossCellTransfer(this.cellId, unitOfWork, this.clock, ids, this.outbox),
    };
  }

  /** The process dies: its memory (services, routing view) is gone; the shard stays. */
  crash(): void {
    if (this.process.up) this.process.crash();
    this.services = undefined;
  }

  /** Opens the cell's own accounts (funding, merchants, clearing); run once at the start. */
  async provision(merchantIds: readonly string[], otherCellIds: readonly string[]): Promise<void> {
    const services = this.requireServices();
    const funding = await services.accounts.openAccount({
      kind: AccountKind.ExternalFunding,
      ownerId: this.cellId,
      currency: simCurrency,
    });
    this.fundingAccountId = funding.accountId;
    for (const merchantId of merchantIds) {
      await services.accounts.openAccount({
        kind: AccountKind.Merchant,
        ownerId: merchantId,
        currency: simCurrency,
      });
    }
    for (const other of otherCellIds) {
      await services.accounts.openAccount({
        kind: AccountKind.Clearing,
        ownerId: other,
        currency: simCurrency,
      });
    }
  }

  requireServices(): CellServices {
    if (this.services === undefined || !this.process.up) throw new ProcessCrashed(this.cellId);
    return this.services;
  }

  /**
   * Handles one request; undefined when the process died while handling it (no reply is sent).
   * A request routed by a newer table makes the cell refresh its own first.
   */
  async handle(request: CellRequest): Promise<CellReply | undefined> {
    if (!this.process.up) return undefined;
    if (request.routerEpoch > this.routingView.epoch) this.adoptRouting(this.latestRouting());
    const table = this.routingView;
    if (!this.bugs.skipSlotOwnershipCheck) {
      if (!table.ownsSlot(this.cellId, request.slot)) {
        return { kind: 'retryable', code: 'slot_not_owned_at_epoch', cellEpoch: table.epoch };
      }
      if (table.routeSlot(request.slot).kind === 'frozen') {
        return { kind: 'retryable', code: 'slot_frozen', cellEpoch: table.epoch };
      }
    }
    this.currentRequest = { slot: request.slot, epoch: table.epoch };
    try {
      const result = await this.execute(request);
      return { kind: 'ok', body: canonicalJson(result) };
    } catch (error) {
      if (error instanceof ProcessCrashed) {
        this.crash();
        return undefined;
      }
      if (error instanceof CellError) return { kind: 'refused', code: error.code };
      throw error;
    } finally {
      this.currentRequest = undefined;
    }
  }

  private execute(request: CellRequest): Promise<unknown> {
    const services = this.requireServices();
    const operation = request.operation;
    switch (operation.kind) {
      case 'open':
        return services.accounts.openAccount({
          kind: AccountKind.UserWallet,
          ownerId: operation.userId,
          currency: simCurrency,
        });
      case 'topUp':
        return services.accounts.topUp({
          clientId: operation.clientId,
          requestId: operation.requestId,
          fromAccountId: this.fundingAccountId,
          toAccountId: operation.toAccountId,
          amountMinor: operation.amountMinor,
          currency: simCurrency,
        });
      case 'transfer':
        return services.accounts.transfer({
          clientId: operation.clientId,
          requestId: operation.requestId,
          fromAccountId: operation.fromAccountId,
          toAccountId: operation.toAccountId,
          amountMinor: operation.amountMinor,
          currency: simCurrency,
        });
      case 'pay':
        return services.payments.pay({
          merchantId: operation.merchantId,
          outTradeNo: operation.outTradeNo,
          payerAccountId: operation.payerAccountId,
          amountMinor: operation.amountMinor,
          currency: simCurrency,
        });
      case 'authorize':
        return services.payments.authorize({
          merchantId: operation.merchantId,
          outTradeNo: operation.outTradeNo,
          payerAccountId: operation.payerAccountId,
          amountMinor: operation.amountMinor,
          currency: simCurrency,
          ttlSeconds: operation.ttlSeconds,
        });
      case 'capture':
        return services.payments.capture({
          merchantId: operation.merchantId,
          paymentId: operation.paymentId,
          amountMinor: operation.amountMinor,
        });
      case 'void':
        return services.payments.void({
          merchantId: operation.merchantId,
          paymentId: operation.paymentId,
        });
      case 'refund':
        return services.payments.refund({
          merchantId: operation.merchantId,
          paymentId: operation.paymentId,
          outRefundNo: operation.outRefundNo,
          amountMinor: operation.amountMinor,
        });
      case 'crossTransfer': {
        const destination = this.routingView.routeSlot(
          parseId(operation.toAccountId, 'account').slot,
        ).cellId;
        return services.crossCell.execute({
          clientId: operation.clientId,
          requestId: operation.requestId,
          fromAccountId: operation.fromAccountId,
          toAccountId: operation.toAccountId,
          destinationCellId: destination,
          amountMinor: operation.amountMinor,
          currency: simCurrency,
        });
      }
    }
  }
}
