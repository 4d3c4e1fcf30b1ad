import type { Consumer } from 'kafkajs';

import { type Account, type Journal, parseId } from '@cellpay/cell-domain';
import { type RoutingTable, slotOf } from '@cellpay/routing';
import {
  type EventApplier,
  InboxConsumer,
  OutboxRelay,
  PermanentEventError,
} from '@cellpay/settlement-messaging';
import { CellOutboxSource } from '@cellpay/settlement-cell';

import type { CellOperation, CellReply } from '../cell/cell-request';
import { SimCell } from '../cell/sim-cell';
import { ProcessCrashed, type SimProcess } from '../cell/sim-process';
import { auditLedgers, checkFloor, checkJournalBalanced } from '../invariants/ledger-audit';
import { WritePathChecks } from '../invariants/write-path-checks';
import { expectedBalances } from '../invariants/expected-balances';
import { InvariantName, type Violation, ViolationLog } from '../invariants/violation';
import type { PlantedBugs } from '../settlement/planted-bugs';
import { quietBus, SimBroker, type SimConsumer } from '../settlement/sim-broker';
import type { Scenario, ScriptedAction } from '../workload/scenario';
import { SeededRandom } from '../world/seeded-random';
import { VirtualWallClock } from '../world/virtual-clock';
import { VirtualScheduler } from '../world/virtual-scheduler';
import { ControlPlane, controlPlaneLimits } from './control-plane';
import { Trace } from './trace';

/** Limits and pacing of the simulated world, in virtual milliseconds unless named otherwise. */
export const worldLimits = {
  clientTimeoutMs: 250,
  clientAttemptsMax: 6,
  retryBackoffMsMax: 120,
  networkDelayMsMax: 20,
  slowNetworkDelayMsMax: 600,
  relayIntervalMs: 10,
  consumerIntervalMs: 10,
  supervisorIntervalMs: 100,
  quiesceAfterLastActionMs: 200,
  quiesceMsMax: 120_000,
  quietCheckIntervalMs: 50,
  fullAuditEveryEvents: 400,
  relayBatchSizeMax: 20,
  eventsMax: 5_000_000,
} as const;

export interface SimulationOptions {
  readonly scenario: Scenario;
  readonly bugs?: PlantedBugs;
}

export interface SimulationStats {
  events: number;
  operationsIssued: number;
  operationsSucceeded: number;
  operationsRefused: number;
  attempts: number;
  actionsSkipped: number;
  refusalsOvertakenByCommit: number;
  cellCrashes: number;
  relayCrashes: number;
  consumerCrashes: number;
  routingChanges: number;
  clockJumps: number;
  eventsApplied: number;
  deadLetters: number;
  busPublished: number;
  busLost: number;
  busAckLost: number;
  busDuplicated: number;
  virtualMs: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly traceHash: string;
  readonly violations: readonly Violation[];
  readonly stats: SimulationStats;
  /** Refusals and retryable refusals the cells answered, by code. */
  readonly refusalCodes: Readonly<Record<string, number>>;
  readonly traceTail: readonly string[];
}

interface OperationState {
  readonly id: string;
  readonly operation: CellOperation;
  readonly slot: number;
  readonly idempotency: string | undefined;
  /** For opens: the scenario's user, whose account the answer names. */
  readonly user: number | undefined;
  attempt: number;
  done: boolean;
  abandoned: boolean;
  outcome: CellReply | undefined;
  /** The first successful reply: every later one must be identical (for opens: the same account). */
  okIdentity: string | undefined;
  okBody: string | undefined;
}

const merchants = ['merchant-1', 'merchant-2'] as const;
/** Long enough to capture in the normal course, short enough that clock jumps expire some. */
const authorizationTtlSeconds = 600;
const clientId = 'sim-client';
const topicPrefix = 'sim';

function identityOf(operation: CellOperation, body: string): string {
  if (operation.kind !== 'open') return body;
  return String((JSON.parse(body) as { accountId?: unknown }).accountId);
}

function idempotencyOf(operation: CellOperation): string | undefined {
  switch (operation.kind) {
    case 'open':
      return undefined;
    case 'pay':
    case 'authorize':
      return `payment:${operation.merchantId}|${operation.outTradeNo}`;
    case 'capture':
    case 'void':
      return `payment:${operation.merchantId}|${operation.kind}:${operation.paymentId}`;
    case 'refund':
      return `payment:${operation.merchantId}|refund:${operation.outRefundNo}`;
    default:
      return `account:${operation.clientId}|${operation.requestId}`;
  }
}

/**
 * One simulated world: three cells on in-memory shards running the real services, the real
 * outbox relay and inbox consumer over a simulated bus, a gateway routing with the real routing
 * table, a control plane that freezes and moves slots, clients that time out and retry, and the
 * faults of the scenario. Everything runs on virtual time from one seed.
 */
class SimulationWorld {
  readonly scheduler = new VirtualScheduler();
  readonly clock = new VirtualWallClock(this.scheduler);
  readonly violations = new ViolationLog(() => this.scheduler.nowMs);
  readonly trace = new Trace(() => this.scheduler.nowMs);
  readonly random: SeededRandom;
  readonly broker: SimBroker;
  readonly cells: SimCell[] = [];
  readonly controlPlane: ControlPlane;
  readonly checks: WritePathChecks;
  private readonly relays = new Map<string, OutboxRelay>();
  private readonly consumers = new Map<string, SimConsumer>();
  private readonly operations: OperationState[] = [];
  private readonly accountOfUser = new Map<number, { accountId: string; cellId: string }>();
  private readonly payments: { paymentId: string; merchantId: string }[] = [];
  private readonly authorizations: { paymentId: string; merchantId: string }[] = [];
  private readonly usedSlots = new Set<number>();
  readonly refusalCodes = new Map<string, number>();
  private faultsOn = true;
  private quiescing = false;
  private quiet = false;
  readonly stats: SimulationStats = {
    events: 0,
    operationsIssued: 0,
    operationsSucceeded: 0,
    operationsRefused: 0,
    attempts: 0,
    actionsSkipped: 0,
    refusalsOvertakenByCommit: 0,
    cellCrashes: 0,
    relayCrashes: 0,
    consumerCrashes: 0,
    routingChanges: 0,
    clockJumps: 0,
    eventsApplied: 0,
    deadLetters: 0,
    busPublished: 0,
    busLost: 0,
    busAckLost: 0,
    busDuplicated: 0,
    virtualMs: 0,
  };

  constructor(
    private readonly scenario: Scenario,
    private readonly bugs: PlantedBugs,
  ) {
    this.random = new SeededRandom(scenario.seed ^ 0x5eed_cafe);
    this.broker = new SimBroker(this.scheduler, this.random.fork(), (line) =>
      this.trace.record(line),
    );
    const cellRoutes = Array.from({ length: scenario.cellCount }, (_, index) => ({
      cellId: `cell-${index + 1}`,
      homeRegion: 'region-a',
      standbyRegion: 'region-b',
      activeRegion: 'region-a',
      state: 'active' as const,
    }));
    this.controlPlane = new ControlPlane(
      cellRoutes,
      () => this.cells,
      this.scheduler,
      this.random.fork(),
      this.trace,
    );
    this.checks = new WritePathChecks(this.violations, (epoch) => this.controlPlane.tableAt(epoch));
    const observer = {
      journalInserted: (cellId: string, journal: Journal) =>
        checkJournalBalanced(cellId, journal, this.violations),
      balanceWritten: (cellId: string, account: Account) =>
        checkFloor(cellId, account, this.violations),
      writeCommitted: (cellId: string, processName: string) => {
        const cell = this.cell(cellId);
        const request = cell.currentRequest;
        if (processName !== cell.process.name || request === undefined) return;
        this.checks.requestCommitted(cellId, request.slot, request.epoch);
      },
      keyCommitted: (cellId: string, scope: string, key: string, responseJson: string) =>
        this.checks.keyCommitted(cellId, `${scope}|${key}`, responseJson),
    };
    cellRoutes.forEach((route, index) => {
      this.cells.push(
        new SimCell(route.cellId, index + 1, this.clock, () => this.latest, observer, bugs),
      );
    });
  }

  get latest(): RoutingTable {
    return this.controlPlane.latest;
  }

  private cell(cellId: string): SimCell {
    const cell = this.cells.find((candidate) => candidate.cellId === cellId);
    if (cell === undefined) throw new Error(`no cell ${cellId}`);
    return cell;
  }

  async run(): Promise<SimulationResult> {
    for (const cell of this.cells) await cell.start();
    const others = (cell: SimCell): string[] =>
      this.cells.filter((other) => other !== cell).map((other) => other.cellId);
    for (const cell of this.cells) await cell.provision(merchants, others(cell));
    for (const cell of this.cells) {
      await this.bootRelay(cell);
      await this.bootConsumer(cell);
      this.every(worldLimits.relayIntervalMs, `relay ${cell.cellId}`, () => this.relayTick(cell));
      this.every(worldLimits.consumerIntervalMs, `consumer ${cell.cellId}`, () =>
        this.consumerTick(cell),
      );
    }
    this.broker.faults = {
      publishLostProbability: this.scenario.faults.publishLostProbability,
      ackLostProbability: this.scenario.faults.ackLostProbability,
      duplicateProbability: this.scenario.faults.duplicateProbability,
      appendDelayMsMax: this.scenario.faults.appendDelayMsMax,
    };
    this.every(worldLimits.supervisorIntervalMs, 'supervisor', () => this.supervise());
    for (const action of this.scenario.actions) {
      this.scheduler.at(action.atMs, `action #${action.index}`, () => this.perform(action));
    }
    const lastActionMs = this.scenario.actions.at(-1)?.atMs ?? 0;
    const quiesceAtMs = lastActionMs + worldLimits.quiesceAfterLastActionMs;
    this.scheduler.at(quiesceAtMs, 'quiesce', () => this.startQuiescing());
    const endMs = quiesceAtMs + worldLimits.quiesceMsMax;
    for (;;) {
      if (this.quiet || this.violations.failed || this.stats.events >= worldLimits.eventsMax) {
        break;
      }
      const event = this.scheduler.next(endMs);
      if (event === undefined) break;
      this.stats.events += 1;
      try {
        await event.action();
      } catch (error) {
        this.violations.report(
          InvariantName.NoUnexpectedError,
          `${event.label}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
      if (this.stats.events % worldLimits.fullAuditEveryEvents === 0 && !this.violations.failed) {
        await auditLedgers(this.cells, this.checks.moneyInMinor(), false, this.violations);
      }
    }
    if (!this.violations.failed) await this.finalChecks();
    this.stats.virtualMs = this.scheduler.nowMs;
    Object.assign(this.stats, {
      busPublished: this.broker.stats.published,
      busLost: this.broker.stats.lost,
      busAckLost: this.broker.stats.ackLost,
      busDuplicated: this.broker.stats.duplicated,
      eventsApplied: this.checks.appliedEvents.size,
      routingChanges: this.controlPlane.changes,
    });
    for (const violation of this.violations.violations) {
      this.trace.record(`VIOLATION ${violation.invariant}: ${violation.detail}`);
    }
    return {
      seed: this.scenario.seed,
      traceHash: this.trace.digest(),
      violations: this.violations.violations,
      stats: this.stats,
      refusalCodes: Object.fromEntries(
        [...this.refusalCodes].sort(([l], [r]) => l.localeCompare(r)),
      ),
      traceTail: this.trace.lastLines(),
    };
  }

  private every(intervalMs: number, label: string, tick: () => Promise<void> | void): void {
    const loop = async (): Promise<void> => {
      await tick();
      this.scheduler.after(intervalMs, label, loop);
    };
    this.scheduler.after(intervalMs, label, loop);
  }

  // ---- processes ------------------------------------------------------------------------------

  private async bootRelay(cell: SimCell): Promise<void> {
    cell.relayProcess.boot();
    this.relays.set(
      cell.cellId,
      new OutboxRelay(
        new CellOutboxSource(cell.relayUnitOfWork, cell.settlement),
        this.broker.producer(),
        {
          topicPrefix,
          batchSizeMax: worldLimits.relayBatchSizeMax,
          idleWaitMs: worldLimits.relayIntervalMs,
          backoff: { initialMs: 10, maxMs: 100 },
        },
      ),
    );
  }

  private async bootConsumer(cell: SimCell): Promise<void> {
    cell.consumerProcess.boot();
    const consumer = this.broker.consumer(
      `${topicPrefix}.inbox.${cell.cellId}`,
      cell.consumerProcess,
    );
    const applier = await cell.startConsumerApplier();
    cell.onEventApplied = (event) => {
      if (this.checks.eventApplied(cell.cellId, event)) {
        this.trace.record(`${cell.cellId} applied ${event.eventId} (${event.amountMinor})`);
      }
    };
    const guarded: EventApplier = {
      apply: async (event) => {
        try {
          return await cell.applyInbound(applier, event);
        } catch (error) {
          if (error instanceof ProcessCrashed || error instanceof PermanentEventError) throw error;
          // The real consumer would back off on a wall-clock timer; here an unexpected failure
          // is a finding, and the member stops instead.
          this.trace.record(`consumer ${cell.cellId} apply failed: ${String(error)}`);
          throw cell.consumerProcess.crash();
        }
      },
    };
    const inbox = new InboxConsumer(
      consumer as unknown as Consumer,
      this.broker.producer(),
      guarded,
      {
        cellId: cell.cellId,
        topicPrefix,
        backoff: { initialMs: 10, maxMs: 100 },
        nowMs: () => this.clock.nowMs(),
        onDeadLetter: (reason) => {
          this.stats.deadLetters += 1;
          this.trace.record(`dead letter at ${cell.cellId}: ${reason}`);
        },
      },
    );
    await inbox.start();
    this.consumers.set(cell.cellId, consumer);
  }

  private async relayTick(cell: SimCell): Promise<void> {
    const relay = this.relays.get(cell.cellId);
    if (relay === undefined || !cell.relayProcess.up) return;
    try {
      const published = await relay.runOnce();
      if (published > 0) this.trace.record(`relay ${cell.cellId} published ${published}`);
    } catch (error) {
      this.trace.record(
        `relay ${cell.cellId} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async consumerTick(cell: SimCell): Promise<void> {
    const consumer = this.consumers.get(cell.cellId);
    if (consumer === undefined || !cell.consumerProcess.up) return;
    await consumer.deliverOnce();
  }

  /** Restarts whatever is down, like an orchestrator restarting a crashed pod. */
  private async supervise(): Promise<void> {
    for (const cell of this.cells) {
      if (!cell.process.up) {
        await cell.start();
        this.trace.record(`${cell.cellId} restarted (incarnation ${cell.process.incarnation})`);
      }
      if (!cell.relayProcess.up) {
        await this.bootRelay(cell);
        this.trace.record(`relay ${cell.cellId} restarted`);
      }
      if (!cell.consumerProcess.up) {
        await this.bootConsumer(cell);
        this.trace.record(`consumer ${cell.cellId} restarted`);
      }
    }
  }

  // ---- scripted actions ------------------------------------------------------------------------

  private userId(user: number): string {
    return `u${this.scenario.seed}x${user}`;
  }

  private skip(action: ScriptedAction, why: string): void {
    this.stats.actionsSkipped += 1;
    this.trace.record(`#${action.index} ${action.kind} skipped: ${why}`);
  }

  private async perform(action: ScriptedAction): Promise<void> {
    const account = (user: number): { accountId: string; cellId: string } | undefined =>
      this.accountOfUser.get(user);
    switch (action.kind) {
      case 'open': {
        const id = this.userId(action.user);
        const slot = slotOf(id, this.latest.slotCount);
        this.usedSlots.add(slot);
        this.issue(`op${action.index}`, { kind: 'open', userId: id }, slot, action.user);
        return;
      }
      case 'topUp': {
        const target = account(action.user);
        if (target === undefined) return this.skip(action, 'no account yet');
        this.issue(
          `op${action.index}`,
          {
            kind: 'topUp',
            clientId,
            requestId: `r${action.index}`,
            toAccountId: target.accountId,
            amountMinor: action.amountMinor.toString(),
          },
          slotOfAccount(target.accountId),
        );
        return;
      }
      case 'transfer':
      case 'crossTransfer': {
        const from = account(action.user);
        // The payee is the first user from `toUser` on whose account fits the kind of transfer.
        let to: { accountId: string; cellId: string } | undefined;
        for (let step = 0; step < this.scenario.userCount && from !== undefined; step++) {
          const user = (action.toUser + step) % this.scenario.userCount;
          const candidate = account(user);
          if (user === action.user || candidate === undefined) continue;
          if ((candidate.cellId === from.cellId) === (action.kind === 'transfer')) {
            to = candidate;
            break;
          }
        }
        if (from === undefined || to === undefined) {
          return this.skip(action, 'no pair of accounts');
        }
        this.issue(
          `op${action.index}`,
          {
            kind: action.kind,
            clientId,
            requestId: `r${action.index}`,
            fromAccountId: from.accountId,
            toAccountId: to.accountId,
            amountMinor: action.amountMinor.toString(),
          },
          slotOfAccount(from.accountId),
        );
        return;
      }
      case 'pay':
      case 'authorize': {
        const payer = account(action.user);
        if (payer === undefined) return this.skip(action, 'no account yet');
        const payment = {
          merchantId: merchants[action.user % merchants.length] ?? merchants[0],
          outTradeNo: `o${action.index}`,
          payerAccountId: payer.accountId,
          amountMinor: action.amountMinor.toString(),
        };
        this.issue(
          `op${action.index}`,
          action.kind === 'pay'
            ? { kind: 'pay', ...payment }
            : { kind: 'authorize', ...payment, ttlSeconds: authorizationTtlSeconds },
          slotOfAccount(payer.accountId),
        );
        return;
      }
      case 'capture':
      case 'void': {
        const authorization =
          this.authorizations[action.pick % Math.max(1, this.authorizations.length)];
        if (authorization === undefined) return this.skip(action, 'no authorization yet');
        const target = { merchantId: authorization.merchantId, paymentId: authorization.paymentId };
        this.issue(
          `op${action.index}`,
          action.kind === 'void'
            ? { kind: 'void', ...target }
            : { kind: 'capture', ...target, amountMinor: action.amountMinor.toString() },
          slotOfPayment(authorization.paymentId),
        );
        return;
      }
      case 'refund': {
        const payment = this.payments[action.pick % Math.max(1, this.payments.length)];
        if (payment === undefined) return this.skip(action, 'no payment yet');
        this.issue(
          `op${action.index}`,
          {
            kind: 'refund',
            merchantId: payment.merchantId,
            paymentId: payment.paymentId,
            outRefundNo: `f${action.index}`,
            amountMinor: action.amountMinor.toString(),
          },
          slotOfPayment(payment.paymentId),
        );
        return;
      }
      case 'crashCell':
        return this.crash(this.cells[action.cell], 'cell', action.point);
      case 'crashRelay':
        return this.crash(this.cells[action.cell], 'relay', action.point);
      case 'crashConsumer':
        return this.crash(this.cells[action.cell], 'consumer', action.point);
      case 'freezeSlot':
        return this.freezeSlot(action);
      case 'moveSlot':
        return this.moveSlot(action);
      case 'clockJump':
        this.clock.jump(action.deltaMs);
        this.stats.clockJumps += 1;
        this.trace.record(`clock jumps by ${action.deltaMs}ms`);
        return;
    }
  }

  private crash(
    cell: SimCell | undefined,
    part: 'cell' | 'relay' | 'consumer',
    point: number,
  ): void {
    if (cell === undefined) return;
    const process: SimProcess =
      part === 'cell' ? cell.process : part === 'relay' ? cell.relayProcess : cell.consumerProcess;
    if (!process.up) return;
    if (part === 'cell') this.stats.cellCrashes += 1;
    if (part === 'relay') this.stats.relayCrashes += 1;
    if (part === 'consumer') this.stats.consumerCrashes += 1;
    if (point < 2) {
      if (part === 'cell') cell.crash();
      else process.crash();
      this.trace.record(`${process.name} crashes now`);
    } else if (point < 6 || part === 'relay') {
      // For the relay, call 2 is the mark after a publish: the classic duplicate-making crash.
      // Elsewhere calls 1, 5, 9 and 13 reach from the idempotency lookup to the last writes of
      // a payment's transaction (claim, accounts, balances, journal, voucher, record, key).
      const callsLeft = part === 'relay' ? 2 : 1 + (point - 2) * 4;
      process.arm({ kind: 'storage-call', callsLeft });
      this.trace.record(`${process.name} will crash at its storage call ${callsLeft}`);
    } else {
      process.arm({ kind: 'after-commit' });
      this.trace.record(`${process.name} will crash after its next commit`);
    }
  }

  // ---- routing changes -------------------------------------------------------------------------

  private freezeSlot(action: ScriptedAction & { kind: 'freezeSlot' }): void {
    const candidates = [...this.usedSlots]
      .filter((slot) => !this.controlPlane.busySlots.has(slot))
      .sort((left, right) => left - right);
    const slot = candidates[action.pick % Math.max(1, candidates.length)];
    if (slot === undefined || this.quiescing) return this.skip(action, 'no slot to freeze');
    this.controlPlane.freezeFor(slot, 1 + this.random.int(controlPlaneLimits.freezeMsMax));
  }

  /** Moves a slot none of whose users has asked for an account yet, preferring the scenario's. */
  private moveSlot(action: ScriptedAction & { kind: 'moveSlot' }): void {
    const table = this.latest;
    const target = this.cells[action.toCell];
    const movable = (slot: number): boolean =>
      !this.usedSlots.has(slot) &&
      !this.controlPlane.busySlots.has(slot) &&
      table.routeSlot(slot).cellId !== target?.cellId;
    // Slots of users who will open an account later come first: their traffic meets the move.
    const userSlots = Array.from({ length: this.scenario.userCount }, (_, user) =>
      slotOf(this.userId(user), table.slotCount),
    ).filter(movable);
    const candidates =
      userSlots.length > 0
        ? [...new Set(userSlots)].sort((left, right) => left - right)
        : Array.from({ length: table.slotCount }, (_, slot) => slot).filter(movable);
    const slot = candidates[action.pick % Math.max(1, candidates.length)];
    if (slot === undefined || target === undefined || this.quiescing) {
      return this.skip(action, 'no slot to move');
    }
    this.controlPlane.move(slot, this.cell(table.routeSlot(slot).cellId), target);
  }

  // ---- clients ---------------------------------------------------------------------------------

  private issue(id: string, operation: CellOperation, slot: number, user?: number): void {
    const state: OperationState = {
      id,
      operation,
      slot,
      user,
      idempotency: idempotencyOf(operation),
      attempt: 0,
      done: false,
      abandoned: false,
      outcome: undefined,
      okIdentity: undefined,
      okBody: undefined,
    };
    this.operations.push(state);
    this.stats.operationsIssued += 1;
    this.send(state);
  }

  private networkDelay(): number {
    if (this.faultsOn && this.random.chance(this.scenario.faults.slowNetworkProbability)) {
      return this.random.int(worldLimits.slowNetworkDelayMsMax);
    }
    return 1 + this.random.int(worldLimits.networkDelayMsMax);
  }

  private send(state: OperationState): void {
    state.attempt += 1;
    state.abandoned = false;
    this.stats.attempts += 1;
    const attempt = state.attempt;
    const decision = this.controlPlane.gateway.routeSlot(state.slot);
    this.scheduler.after(worldLimits.clientTimeoutMs, 'client timeout', () => {
      if (!state.done && state.attempt === attempt) this.retry(state, 'timed out');
    });
    if (decision.kind === 'frozen') {
      this.trace.record(`${state.id}.${attempt} -> gateway: slot ${state.slot} frozen`);
      return;
    }
    if (this.faultsOn && this.random.chance(this.scenario.faults.requestLossProbability)) {
      this.trace.record(`${state.id}.${attempt} -> ${decision.cellId}: request lost`);
      return;
    }
    const cell = this.cell(decision.cellId);
    this.scheduler.after(this.networkDelay(), 'request arrives', async () => {
      const reply = await cell.handle({
        operationId: state.id,
        operation: state.operation,
        slot: state.slot,
        routerEpoch: decision.epoch,
      });
      if (reply === undefined) {
        this.trace.record(`${state.id}.${attempt} at ${cell.cellId}: no reply (process down)`);
        return;
      }
      this.trace.record(`${state.id}.${attempt} at ${cell.cellId}: ${describeReply(reply)}`);
      if (reply.kind !== 'ok')
        this.refusalCodes.set(reply.code, (this.refusalCodes.get(reply.code) ?? 0) + 1);
      if (this.faultsOn && this.random.chance(this.scenario.faults.replyLossProbability)) {
        this.trace.record(`${state.id}.${attempt} reply lost`);
        return;
      }
      this.scheduler.after(this.networkDelay(), 'reply arrives', () =>
        this.onReply(state, attempt, reply, cell.cellId),
      );
    });
  }

  private retry(state: OperationState, why: string): void {
    if (!this.quiescing && state.attempt >= worldLimits.clientAttemptsMax) {
      state.abandoned = true;
      this.trace.record(`${state.id} abandoned after ${state.attempt} attempts (${why})`);
      return;
    }
    const attempt = state.attempt;
    this.scheduler.after(
      1 + this.random.int(worldLimits.retryBackoffMsMax),
      'client retries',
      () => {
        if (!state.done && state.attempt === attempt) this.send(state);
      },
    );
  }

  private onReply(state: OperationState, attempt: number, reply: CellReply, cellId: string): void {
    if (reply.kind === 'ok') {
      const identity = identityOf(state.operation, reply.body);
      if (state.okIdentity !== undefined && state.okIdentity !== identity) {
        this.violations.report(
          InvariantName.IdempotentRetryReturnsOriginal,
          `${state.id} answered ${identity} after ${state.okIdentity}`,
        );
      }
      state.okIdentity ??= identity;
      state.okBody ??= reply.body;
    }
    if (state.done) return;
    if (reply.kind === 'retryable') {
      // The refusal carries the cell's epoch: the gateway refreshes its table from the global zone.
      this.controlPlane.refreshGateway();
      if (state.attempt === attempt) this.retry(state, reply.code);
      return;
    }
    state.done = true;
    state.outcome = reply;
    if (reply.kind === 'refused') {
      this.stats.operationsRefused += 1;
      return;
    }
    this.stats.operationsSucceeded += 1;
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    if (state.user !== undefined) {
      this.accountOfUser.set(state.user, { accountId: String(body['accountId']), cellId });
    }
    const operation = state.operation;
    if (operation.kind === 'pay' || operation.kind === 'capture') {
      this.payments.push({
        paymentId: String(body['paymentId']),
        merchantId: operation.merchantId,
      });
    }
    if (operation.kind === 'authorize') {
      this.authorizations.push({
        paymentId: String(body['paymentId']),
        merchantId: operation.merchantId,
      });
    }
  }

  // ---- the end ---------------------------------------------------------------------------------

  private startQuiescing(): void {
    this.trace.record('quiescing: faults off, every operation retried until it is answered');
    this.faultsOn = false;
    this.quiescing = true;
    this.broker.faults = quietBus;
    for (const cell of this.cells) {
      cell.process.disarm();
      cell.relayProcess.disarm();
      cell.consumerProcess.disarm();
    }
    for (const state of this.operations) if (state.abandoned && !state.done) this.send(state);
    this.every(worldLimits.quietCheckIntervalMs, 'quiet?', () => {
      this.quiet = this.isQuiet();
    });
  }

  private isQuiet(): boolean {
    if (this.controlPlane.busySlots.size > 0) return false;
    if (this.operations.some((state) => !state.done)) return false;
    for (const cell of this.cells) {
      if (!cell.process.up || !cell.relayProcess.up || !cell.consumerProcess.up) return false;
      if (cell.settlementTables.unpublishedCount() > 0) return false;
      if (cell.routing.epoch !== this.latest.epoch) return false;
      const group = `${topicPrefix}.inbox.${cell.cellId}`;
      if (this.broker.backlog(group, `${topicPrefix}.settlement.inbound.${cell.cellId}`) > 0) {
        return false;
      }
    }
    return true;
  }

  private async finalChecks(): Promise<void> {
    if (!this.quiet) {
      const open = this.operations.filter((state) => !state.done).length;
      this.violations.report(
        InvariantName.QuiescenceReached,
        `the world did not come to rest: ${open} operations unanswered`,
      );
      return;
    }
    const accounts = await auditLedgers(
      this.cells,
      this.checks.moneyInMinor(),
      true,
      this.violations,
    );
    const crossTransferPayers = new Map<string, string>();
    for (const { operation } of this.operations) {
      if (operation.kind !== 'crossTransfer') continue;
      crossTransferPayers.set(
        `account:${operation.clientId}|${operation.requestId}`,
        operation.fromAccountId,
      );
    }
    const expected = expectedBalances(
      this.checks.keyCommits,
      this.checks.appliedEvents,
      accounts,
      crossTransferPayers,
    );
    for (const account of accounts.values()) {
      const want = expected.get(account.id) ?? 0n;
      if (account.balanceMinor !== want) {
        this.violations.report(
          InvariantName.BalanceMatchesAppliedOperations,
          `${account.id} (${account.kind}) holds ${account.balanceMinor}, the applied operations say ${want}`,
        );
      }
    }
    for (const state of this.operations) {
      if (state.outcome?.kind === 'ok' && state.idempotency !== undefined) {
        const commit = this.checks.keyCommits.get(state.idempotency);
        if (commit === undefined || commit.responseJson !== state.okBody) {
          this.violations.report(
            InvariantName.AppliedExactlyOnce,
            `${state.id} was acknowledged but ${commit === undefined ? 'never applied' : 'applied differently'}`,
          );
        }
      }
      if (state.outcome?.kind === 'refused' && state.idempotency !== undefined) {
        // Refusals are not stored (decisions.md 14): an earlier attempt may still commit later.
        if (this.checks.keyCommits.has(state.idempotency))
          this.stats.refusalsOvertakenByCommit += 1;
      }
    }
    for (const cell of this.cells) {
      const report = await cell.requireServices().accounting.reconcile();
      if (!report.clean) {
        const first = report.differences[0];
        this.violations.report(
          InvariantName.CellReconciliationClean,
          `${cell.cellId}: ${report.differenceCount} differences, first ${first?.rule} on ${first?.subjectId}`,
        );
      }
    }
  }
}

function describeReply(reply: CellReply): string {
  if (reply.kind === 'ok') return 'ok';
  return `${reply.kind} ${reply.code}`;
}

function slotOfAccount(accountId: string): number {
  return parseId(accountId, 'account').slot;
}

function slotOfPayment(paymentId: string): number {
  return parseId(paymentId, 'payment').slot;
}

/** Runs one scenario to its end (or its first violation) and reports what happened. */
export function runScenario(options: SimulationOptions): Promise<SimulationResult> {
  return new SimulationWorld(options.scenario, options.bugs ?? {}).run();
}
