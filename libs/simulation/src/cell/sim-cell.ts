import 'reflect-metadata';

import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AccountModule, AccountService } from '@cellpay/cell-account';
import { AccountingModule, AccountingService } from '@cellpay/cell-accounting';
import { canonicalJson, CellPersistenceModule, MemoryCellStore } from '@cellpay/cell-data-access';
import { AccountKind, CellError, type Clock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { PaymentModule, PaymentService } from '@cellpay/cell-payment';
import type { RoutingTable } from '@cellpay/routing';
import {
  ApplySettlementEventUseCase,
  CrossCellService,
  MemorySettlementStore,
  routerOf,
  SettlementCellModule,
  type SettlementStore,
} from '@cellpay/settlement-cell';

import type { SettlementEvent } from '@cellpay/settlement-domain';
import type { ApplyOutcome } from '@cellpay/settlement-messaging';

import { decorated } from '../settlement/decorated-store';
import { type PlantedBugs, withoutInboxDedup } from '../settlement/planted-bugs';
import type { CellReply, CellRequest } from './cell-request';
import { simCurrency } from './cell-request';
import { CrashableUnitOfWork, type WriteObserver } from './crashable-unit-of-work';
import { ProcessCrashed, SimProcess } from './sim-process';

interface CellServices {
  readonly context: INestApplicationContext;
  readonly accounts: AccountService;
  readonly payments: PaymentService;
  readonly accounting: AccountingService;
  readonly crossCell: CrossCellService;
}

/** The routing view a cell asks the global zone for when a request shows it is behind. */
export type RoutingSource = () => RoutingTable;

/**
 * One simulated cell: its shard (the real in-memory store and the real in-memory settlement
 * tables: outbox, inbox, sagas), which survives every crash, and its processes: the cell process
 * runs the real account, payment, accounting and cross-cell services in a NestJS context like the
 * cell app does; the relay reads the real outbox; the consumer applies events with the real
 * applier. The cell process checks slot ownership at its routing epoch before it lets a request
 * touch the shard.
 */
export class SimCell {
  readonly store = new MemoryCellStore();
  /** Settlement's tables in this shard, for the invariants to read between transactions. */
  readonly settlementTables = new MemorySettlementStore();
  /** The same tables as the services use them (with the planted inbox bug, when asked for). */
  readonly settlement: SettlementStore;
  readonly process: SimProcess;
  readonly relayProcess: SimProcess;
  readonly consumerProcess: SimProcess;
  readonly unitOfWork: CrashableUnitOfWork;
  readonly relayUnitOfWork: CrashableUnitOfWork;
  readonly consumerUnitOfWork: CrashableUnitOfWork;
  private consumerContext: INestApplicationContext | undefined;
  /** The event the consumer is applying now, and who hears when its application commits. */
  private applying: SettlementEvent | undefined;
  onEventApplied: (event: SettlementEvent) => void = () => undefined;
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
    this.settlement = this.observedWhenApplied(
      bugs.skipInboxDedup ? withoutInboxDedup(this.settlementTables) : this.settlementTables,
    );
    this.unitOfWork = new CrashableUnitOfWork(this.store, this.process, cellId, observer);
    this.relayUnitOfWork = new CrashableUnitOfWork(this.store, this.relayProcess, cellId, observer);
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

  /** The modules of one of this cell's processes: its persistence on `unitOfWork`, and settlement. */
  private processModule(unitOfWork: CrashableUnitOfWork, process: SimProcess, letter: string) {
    const persistence = CellPersistenceModule.register({
      unitOfWork,
      clock: this.clock,
      idGenerator: this.idGenerator(process, letter),
      glPostingSwitch: { isGlPostingDeferred: () => false },
      settings: { cellId: this.cellId, slotCount: this.routingView.slotCount },
    });
    const settlement = SettlementCellModule.register({
      store: this.settlement,
      // Cross-cell requests go where this process's routing view says the payee lives.
      router: routerOf(() => this.routingView),
    });
    @Module({ imports: [persistence, AccountingModule, AccountModule, PaymentModule, settlement] })
    class SimProcessModule {}
    return SimProcessModule;
  }

  async start(): Promise<void> {
    this.process.boot();
    // A restarted process loads the current routing table before it serves.
    this.adoptRouting(this.latestRouting());
    const context = await NestFactory.createApplicationContext(
      this.processModule(this.unitOfWork, this.process, 'P'),
      { logger: false },
    );
    this.services = {
      context,
      accounts: context.get(AccountService),
      payments: context.get(PaymentService),
      accounting: context.get(AccountingService),
      crossCell: context.get(CrossCellService),
    };
  }

  /**
   * Tells `onEventApplied` when an application commits (a claimed inbox row is the application),
   * at the commit itself: a consumer that dies right after committing has still applied it.
   */
  private observedWhenApplied(store: SettlementStore): SettlementStore {
    return decorated(store, (records) => ({
      claimInbox: async (entry) => {
        const claimed = await records.claimInbox(entry);
        const event = this.applying;
        if (claimed && event?.eventId === entry.eventId) {
          this.consumerUnitOfWork.afterCommit(() => this.onEventApplied(event));
        }
        return claimed;
      },
    }));
  }

  /** Applies one inbound event with the consumer's applier, observed as it commits. */
  async applyInbound(
    applier: ApplySettlementEventUseCase,
    event: SettlementEvent,
  ): Promise<ApplyOutcome> {
    this.applying = event;
    try {
      return await applier.apply(event);
    } finally {
      this.applying = undefined;
    }
  }

  /** The consumer process's applier: the real one, on the consumer's own unit of work and IDs. */
  async startConsumerApplier(): Promise<ApplySettlementEventUseCase> {
    await this.consumerContext?.close();
    this.consumerContext = await NestFactory.createApplicationContext(
      this.processModule(this.consumerUnitOfWork, this.consumerProcess, 'Q'),
      { logger: false },
    );
    return this.consumerContext.get(ApplySettlementEventUseCase);
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
      case 'crossTransfer':
        return services.crossCell.transfer({
          clientId: operation.clientId,
          requestId: operation.requestId,
          fromAccountId: operation.fromAccountId,
          toAccountId: operation.toAccountId,
          amountMinor: operation.amountMinor,
          currency: simCurrency,
        });
    }
  }
}
