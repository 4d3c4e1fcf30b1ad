import { Metadata, type ServiceError, status } from '@grpc/grpc-js';

import {
  type Authenticator,
  CellBreakers,
  CellUnavailableError,
  GatewayError,
  GatewayErrorCode,
  type Principal,
} from '@cellpay/gateway-edge';
import { cellOverloadedReason, decodeErrorStatus } from '@cellpay/proto';
import {
  cellEpochDetailKey,
  type RouteDecision,
  type RoutingTable,
  routingHeaders,
  slotRefusalReasons,
} from '@cellpay/routing';
import {
  currentRequestContext,
  newRequestId,
  type RequestContext,
  requestContextMetadata,
  runInRequestContext,
} from '@cellpay/observability';
import { protoJsonView } from '@cellpay/signing';

import type { CellCall, CellTransport } from './cell-client';
import type { DirectRoute, PublicOperation } from './public-operations';

/** The routing table the gateway routes by, followed from the global zone (or fixed in tests). */
export interface RoutingView {
  current(): RoutingTable;
}

export interface GatewayServiceOptions {
  /** Deadline of every call to a cell; the client's own deadline ends a call earlier. */
  readonly cellCallDeadlineMs: number;
  /** How long a refused call waits for the gateway's table to reach the refusing cell's epoch. */
  readonly epochCatchUpWaitMsMax: number;
  /** Pause before retrying a cell that said it is behind the gateway's epoch. */
  readonly cellCatchUpDelayMs: number;
  /** Cells searched at most by a query that names no slot (GetPayment by out_trade_no). */
  readonly cellsSearchedMax: number;
}

export const gatewayServiceDefaults: GatewayServiceOptions = {
  cellCallDeadlineMs: 3_000,
  epochCatchUpWaitMsMax: 1_500,
  cellCatchUpDelayMs: 300,
  cellsSearchedMax: 64,
};

export interface GatewayServiceDependencies {
  readonly authenticator: Authenticator;
  readonly routing: RoutingView;
  readonly transport: CellTransport;
  readonly breakers: CellBreakers;
  readonly options?: Partial<GatewayServiceOptions>;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told of every call a cell refused as overloaded (`cellpay_cell_overloaded_total`). */
  readonly onCellOverloaded?: (cellId: string) => void;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** The request context as metadata for the cell: the request ID and the stress mark. */
export function requestContextMetadataOf(
  context: RequestContext | undefined,
): Record<string, string> {
  if (context === undefined) return {};
  return {
    [requestContextMetadata.requestId]: context.requestId,
    [requestContextMetadata.stress]: context.stress ? '1' : '0',
  };
}

/** The reason in a cell error's google.rpc.ErrorInfo, if it carries one. */
export function cellReasonOf(error: unknown): { reason: string; cellEpoch?: bigint } | undefined {
  const metadata = (error as Partial<ServiceError>).metadata;
  // Only a gRPC error carries trailers; the gateway's own errors have plain metadata objects.
  if (!(metadata instanceof Metadata)) return undefined;
  const details = metadata.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(details)) return undefined;
  try {
    const decoded = decodeErrorStatus(details);
    const epoch = decoded.metadata[cellEpochDetailKey];
    return epoch !== undefined && /^\d{1,19}$/.test(epoch)
      ? { reason: decoded.reason, cellEpoch: BigInt(epoch) }
      : { reason: decoded.reason };
  } catch {
    return undefined;
  }
}

/**
 * The cell's own table disagreed with the gateway's about the payee of a cross-cell call: the
 * payee lives in the payer's cell (the settlement refusal `payee_in_this_cell`).
 */
export const payeeInThisCellReason = 'payee_in_this_cell';

/** A refusal that means the gateway's table is behind (or ahead of) the cell's: refresh, retry. */
function isRoutingRefusal(error: unknown): boolean {
  const reason = cellReasonOf(error)?.reason;
  return (
    reason === slotRefusalReasons.notOwned ||
    reason === slotRefusalReasons.routerAhead ||
    reason === slotRefusalReasons.frozen ||
    reason === payeeInThisCellReason
  );
}

const transportFailureCodes: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
]);

/**
 * A cell at its admission bound refused the call at once (RESOURCE_EXHAUSTED `cell_overloaded`):
 * nothing of it ran. The client retries after a pause; the gateway passes the refusal on as it is.
 */
export function isCellOverloaded(error: unknown): boolean {
  return cellReasonOf(error)?.reason === cellOverloadedReason;
}

/**
 * Whether an error says the cell is unhealthy (counts towards its breaker). Refusals the cell
 * made on purpose (a rule, a slot it does not own, its admission bound) are answers of a healthy
 * cell. An overloaded cell in particular must keep its breaker closed: opening it would refuse
 * the capacity the cell still serves, which is how overload turned into near-total shedding.
 */
export function isCellFailure(error: unknown): boolean {
  if (isCellOverloaded(error)) return false;
  const code = (error as Partial<ServiceError>).code;
  if (typeof code !== 'number') return true;
  return transportFailureCodes.has(code) && cellReasonOf(error) === undefined;
}

/** The cell that owns a user or a slot in this table, whatever the slot's state. */
export function cellOwning(table: RoutingTable, route: DirectRoute): string {
  return (route.kind === 'user' ? table.routeUser(route.userId) : table.routeSlot(route.slot))
    .cellId;
}

/**
 * One public call, start to end: authenticate, route by the slot of the user or of the ID, forward
 * to the owning cell through its breaker with the routing epoch and a deadline, and on a cell's
 * slot refusal (or its disagreement about a payee's cell) refresh the table and retry once. Holds no money state and makes no business
 * decision; the cell does.
 */
export class GatewayService {
  private readonly options: GatewayServiceOptions;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly dependencies: GatewayServiceDependencies) {
    this.options = { ...gatewayServiceDefaults, ...dependencies.options };
    this.sleep = dependencies.sleep ?? defaultSleep;
  }

  async handle(
    path: string,
    operation: PublicOperation,
    request: Record<string, unknown>,
    headers: Readonly<Record<string, string | undefined>>,
  ): Promise<object> {
    const principal = await this.dependencies.authenticator.authenticate({
      method: path,
      headers,
      body: protoJsonView(request),
    });
    // From here the request carries its stress mark: forwarded to the cell, on every log line.
    const requestId = currentRequestContext()?.requestId ?? newRequestId();
    return runInRequestContext({ requestId, stress: principal.stress }, () =>
      this.dispatch(operation, request, principal),
    );
  }

  private async dispatch(
    operation: PublicOperation,
    request: Record<string, unknown>,
    principal: Principal,
  ): Promise<object> {
    const route = operation.route(request);
    if (route.kind === 'every_cell') return this.search(operation, request, principal);
    try {
      return await this.routed(operation, request, principal, route);
    } catch (error) {
      if (!isRoutingRefusal(error)) throw error;
      // The table moved under us (or the cell is behind): catch up once, then route again.
      await this.catchUp(cellReasonOf(error));
      try {
        return await this.routed(operation, request, principal, route);
      } catch (retryError) {
        if (!isRoutingRefusal(retryError)) throw retryError;
        throw new GatewayError(
          GatewayErrorCode.RoutingStale,
          'the cell refused the route twice; the routing table is moving, retry shortly',
        );
      }
    }
  }

  private async routed(
    operation: PublicOperation,
    request: Record<string, unknown>,
    principal: Principal,
    route: DirectRoute,
  ): Promise<object> {
    const table = this.dependencies.routing.current();
    const decision = this.decide(table, route);
    const counterpart = operation.counterpart?.(request, principal);
    // Only the owner matters here, not its state: a payee's cell that is down or frozen must not
    // hold up the payer, whose cell alone commits the payment (settlement catches up later).
    const crossCell =
      counterpart !== undefined && cellOwning(table, counterpart) !== decision.cellId;
    return operation.forward(
      (call) => this.callCell(operation, decision, call),
      request,
      principal,
      { crossCell },
    );
  }

  private decide(table: RoutingTable, route: DirectRoute) {
    const decision: RouteDecision =
      route.kind === 'user' ? table.routeUser(route.userId) : table.routeSlot(route.slot);
    if (decision.kind === 'frozen') {
      throw new GatewayError(
        GatewayErrorCode.SlotFrozen,
        `slot ${decision.slot} is frozen for a move; retry shortly`,
        { slot: String(decision.slot) },
      );
    }
    if (table.cell(decision.cellId)?.state === 'down') {
      throw new GatewayError(GatewayErrorCode.CellUnavailable, `${decision.cellId} is down`, {
        cell: decision.cellId,
      });
    }
    return decision;
  }

  private async callCell(
    operation: PublicOperation,
    decision: RouteDecision,
    call: Pick<CellCall, 'service' | 'method' | 'request'>,
  ): Promise<Record<string, unknown>> {
    // A search names no slot (slot -1): it only reads, so it carries no routing claim.
    const full: CellCall = {
      ...call,
      metadata: {
        ...requestContextMetadataOf(currentRequestContext()),
        ...(decision.slot < 0
          ? {}
          : {
              [routingHeaders.epoch]: decision.epoch.toString(),
              [routingHeaders.slot]: String(decision.slot),
            }),
      },
      deadlineMs: this.options.cellCallDeadlineMs,
    };
    const once = (): Promise<Record<string, unknown>> =>
      this.dependencies.breakers.call(decision.cellId, () =>
        this.dependencies.transport.call(decision.cellId, full),
      );
    try {
      return await once();
    } catch (error) {
      if (isCellOverloaded(error)) {
        // Never retried here: a retry at once would only add to the load the cell just refused.
        this.dependencies.onCellOverloaded?.(decision.cellId);
        throw error;
      }
      // One retry, only for operations that are safe twice, only when the cell was unreachable
      // (never when its breaker is open: that is the fail-fast path).
      const unreachable =
        !(error instanceof CellUnavailableError) &&
        (error as Partial<ServiceError>).code === status.UNAVAILABLE &&
        cellReasonOf(error) === undefined;
      if (!operation.retryable || !unreachable) throw error;
      return once();
    }
  }

  /** A query that names no slot: ask every active cell, first answer wins. */
  private async search(
    operation: PublicOperation,
    request: Record<string, unknown>,
    principal: Principal,
  ): Promise<object> {
    const table = this.dependencies.routing.current();
    const cells = table.cells
      .filter((cell) => cell.state !== 'down')
      .slice(0, this.options.cellsSearchedMax);
    const attempts = cells.map((cell) =>
      operation.forward(
        (call) =>
          this.callCell(
            operation,
            { kind: 'route', cellId: cell.cellId, slot: -1, epoch: table.epoch },
            call,
          ),
        request,
        principal,
        { crossCell: false },
      ),
    );
    const results = await Promise.allSettled(attempts);
    const found = results.find((result) => result.status === 'fulfilled');
    if (found !== undefined) return found.value;
    const failures = results.map((result) => (result as PromiseRejectedResult).reason as unknown);
    // Not found anywhere is the answer only when every cell answered; otherwise say which failed.
    const unanswered = failures.find(
      (failure) => (failure as Partial<ServiceError>).code !== status.NOT_FOUND,
    );
    throw unanswered ?? failures[0] ?? new GatewayError(GatewayErrorCode.Internal, 'no cells');
  }

  private async catchUp(
    refusal: { reason: string; cellEpoch?: bigint } | undefined,
  ): Promise<void> {
    if (refusal?.reason === slotRefusalReasons.routerAhead || refusal?.cellEpoch === undefined) {
      await this.sleep(this.options.cellCatchUpDelayMs);
      return;
    }
    const target = refusal.cellEpoch;
    const stepMs = 50;
    for (let waitedMs = 0; waitedMs < this.options.epochCatchUpWaitMsMax; waitedMs += stepMs) {
      if (this.dependencies.routing.current().epoch >= target) return;
      await this.sleep(stepMs);
    }
  }
}
