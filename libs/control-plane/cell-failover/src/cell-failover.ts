import type Redis from 'ioredis';

import {
  failoverLimitsDefault,
  fenceAndRejoinReturningPrimary,
  plannedFailover,
  PrimaryMonitor,
  primaryMonitorLimitsDefault,
  ShardNode,
  unplannedFailover,
  type FailoverHooks,
  type FailoverLimits,
  type FailoverReport,
  type PrimaryMonitorLimits,
  type RejoinReport,
  type ReplicationCredentials,
  type ShardPair,
} from '@cellpay/failover';
import {
  cellTopologyOf,
  nodeIn,
  publishRoutingTable,
  publishTopology,
  routingRedisKeys,
  topologyRedisKeys,
  type RoutingStore,
  type Topology,
  type TopologyStore,
} from '@cellpay/global-data-access';
import type { RoutingTable } from '@cellpay/routing';

import { CellFailoverErrorCode, CellFailoverException } from './cell-failover.exception';
import { CellOperationTimeline, type OperationStep } from './cell-operation-timeline';

/** What a cell operation needs from the control plane: stores, cache, credentials, a voice. */
export interface CellOperationContext {
  readonly routing: RoutingStore;
  readonly topology: TopologyStore;
  readonly redis: Redis;
  readonly redisPrefix: string;
  /** An account on the shard servers that may fence, promote and repoint replication. */
  readonly shardAdmin: { readonly user: string; readonly password: string };
  readonly replication: ReplicationCredentials;
  readonly actor: string;
  readonly progress: (line: string) => void;
  readonly limits?: FailoverLimits;
  readonly monitorLimits?: PrimaryMonitorLimits;
  /**
   * Planned only: how long to let a freeze reach the gateways and cells before the fence. They
   * follow the routing table within a second (Redis pub/sub usually within milliseconds); a call
   * admitted just before the freeze would otherwise meet the fence and fail with a non-retryable
   * error instead of the retryable `slot_frozen`.
   */
  readonly freezeSettleMs?: number;
}

/** Default of `freezeSettleMs`: the followers' usual reach, well under their one-second bound. */
export const freezeSettleMsDefault = 500;
/** Upper bound of `freezeSettleMs`: past the followers' bound it only lengthens the outage. */
export const freezeSettleMsMax = 1_500;

export interface FailoverRequest {
  readonly cellId: string;
  readonly toRegion: string;
}

export interface UnplannedFailoverRequest extends FailoverRequest {
  /** How long to watch the primary for its death before giving up. */
  readonly detectMsMax: number;
  /** Promote even if the replica may lack acknowledged transactions (the loss is on record). */
  readonly force: boolean;
  /** After the promotion, wait this long for the old primary to return, then fence and rejoin it. */
  readonly returnWaitMs: number;
  /** Called once the monitor has seen the primary alive (a drill kills it after this). */
  readonly onWatching?: () => void;
  /** Called once the new primary is writable (a drill restarts the old one after this). */
  readonly onPromoted?: () => void;
}

export interface CellFailoverResult {
  readonly kind: 'planned' | 'unplanned';
  readonly cellId: string;
  readonly fromRegion: string;
  readonly toRegion: string;
  readonly steps: readonly OperationStep[];
  readonly engine: FailoverReport;
  /** From the freeze of the cell's slots to their unfreeze (clients got a retryable status). */
  readonly frozenMs: number;
  readonly topologyBefore: Topology;
  readonly topologyAfter: Topology;
  readonly epochBefore: bigint;
  readonly epochAfter: bigint;
  /** Unplanned only: what became of the old primary when it came back (or null if it did not). */
  readonly rejoin: RejoinReport | null;
}

/**
 * Fails a cell's shard over to its node in another region, wrapped in what the rest of the
 * platform needs: the cell's slots are frozen for the duration (the gateway and the cell answer
 * with a retryable status), the topology names the new primary before it takes writes (the cell's
 * processes repoint within a second), and the slots are unfrozen once it is writable. Failback is
 * the same call with the other region.
 */
export class CellFailover {
  constructor(private readonly context: CellOperationContext) {}

  async planned(request: FailoverRequest): Promise<CellFailoverResult> {
    const timeline = new CellOperationTimeline(this.context.progress);
    const plan = await this.plan(request, timeline);
    const guard = new FreezeGuard(this.context, timeline, plan.slots, request.cellId);
    const engine = await plannedFailover(
      plan.pair,
      this.hooks(plan, guard, timeline),
      this.limits(),
    );
    timeline.append(engine.timeline, 'shard: ');
    return this.finish('planned', plan, guard, timeline, engine, null);
  }

  async unplanned(request: UnplannedFailoverRequest): Promise<CellFailoverResult> {
    const timeline = new CellOperationTimeline(this.context.progress);
    const plan = await this.plan(request, timeline);
    const monitor = new PrimaryMonitor(
      plan.pair.primary,
      this.context.monitorLimits ?? primaryMonitorLimitsDefault,
    );
    const watching = monitor.watch(request.detectMsMax);
    await timeline.run('watch-primary', async () => {
      const seenWithin = Date.now() + request.detectMsMax;
      while (monitor.lastObservation === null && Date.now() < seenWithin) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (monitor.lastObservation === null) {
        monitor.stop();
        throw new CellFailoverException(
          CellFailoverErrorCode.primaryDidNotDie,
          `${plan.pair.primary.name} never answered the monitor; nothing was changed`,
        );
      }
    });
    request.onWatching?.();
    const death = await timeline.run(
      'detect-primary-death',
      async () => {
        const seen = await watching;
        if (seen === null) {
          throw new CellFailoverException(
            CellFailoverErrorCode.primaryDidNotDie,
            `${plan.pair.primary.name} stayed alive for ${request.detectMsMax} ms; nothing was ` +
              'changed (use a planned failover to move a live primary)',
          );
        }
        return seen;
      },
      (seen) =>
        `declared dead after ${seen.failedProbes} failed probes, ` +
        `${seen.declaredDeadAt.getTime() - (seen.lastAliveAt ?? seen.firstFailureAt).getTime()} ms after the last good one`,
    );
    const guard = new FreezeGuard(this.context, timeline, plan.slots, request.cellId);
    // Frozen slots turn the clients' connection errors into a retryable refusal while we promote.
    await guard.freeze();
    const hooks = this.hooks(plan, guard, timeline);
    let engine: FailoverReport;
    try {
      engine = await unplannedFailover(
        plan.pair,
        death,
        { force: request.force },
        { beforePromote: hooks.beforePromote, afterPromote: hooks.afterPromote },
        this.limits(),
      );
      timeline.append(engine.timeline, 'shard: ');
    } catch (error) {
      this.context.progress(
        `the slots of ${request.cellId} stay frozen: it has no writable primary. Bring the old ` +
          `primary back, then 'cellctl undrain ${request.cellId}'`,
      );
      throw error;
    }
    request.onPromoted?.();
    let rejoin: RejoinReport | null = null;
    if (request.returnWaitMs > 0) {
      rejoin = await timeline.run(
        'fence-and-rejoin-old-primary',
        () =>
          fenceAndRejoinReturningPrimary(
            plan.pair.primary,
            plan.pair.replica,
            engine.promotedAtPosition,
            this.context.replication,
            request.returnWaitMs,
            this.limits(),
          ),
        (report) =>
          `${report.outcome}; fenced ${report.fencedWithinMs} ms after its first answer, ` +
          `${report.killedConnections} connection(s) killed` +
          (report.outcome === 'diverged'
            ? `; it holds ${report.errantTransactions} the new primary lacks: it stays ` +
              'read-only and needs a rebuild from the new primary'
            : ''),
      );
    }
    return this.finish('unplanned', plan, guard, timeline, engine, rejoin);
  }

  private limits(): FailoverLimits {
    return this.context.limits ?? failoverLimitsDefault;
  }

  private async plan(request: FailoverRequest, timeline: CellOperationTimeline) {
    return timeline.run(
      'read-topology-and-routing',
      async () => {
        const topology = (await this.context.topology.load())?.value;
        if (topology === undefined) {
          throw new CellFailoverException(
            CellFailoverErrorCode.topologyNotLoaded,
            'no shard topology in the global zone; run cellctl topology load first',
          );
        }
        const routing = await this.context.routing.loadSnapshot();
        if (routing === undefined) {
          throw new CellFailoverException(
            CellFailoverErrorCode.routingNotInitialised,
            'the routing table is not initialised (cellctl routes init)',
          );
        }
        const cell = cellTopologyOf(topology, request.cellId);
        if (cell.primaryRegion === request.toRegion) {
          throw new CellFailoverException(
            CellFailoverErrorCode.alreadyPrimaryInRegion,
            `${request.cellId}'s primary is already in ${request.toRegion}; nothing to do`,
          );
        }
        const node = (region: string): ShardNode => {
          const location = nodeIn(cell, region);
          return new ShardNode({
            name: `${request.cellId}@${region}`,
            host: location.host,
            port: location.port,
            ...this.context.shardAdmin,
          });
        };
        const pair: ShardPair = {
          primary: node(cell.primaryRegion),
          replica: node(request.toRegion),
          replication: this.context.replication,
        };
        const slots = routing.slots
          .filter((slot) => slot.cellId === request.cellId)
          .map((slot) => slot.slot);
        return {
          request,
          topology,
          fromRegion: cell.primaryRegion,
          pair,
          slots,
          epochBefore: routing.epoch,
          routingCell: routing.cells.find((candidate) => candidate.cellId === request.cellId),
        };
      },
      (plan) =>
        `${plan.request.cellId}: ${plan.pair.primary.name} -> ${plan.pair.replica.name}, ` +
        `${plan.slots.length} slot(s), epoch ${plan.epochBefore}`,
    );
  }

  private hooks(
    plan: Awaited<ReturnType<CellFailover['plan']>>,
    guard: FreezeGuard,
    timeline: CellOperationTimeline,
  ): FailoverHooks {
    const { cellId, toRegion } = plan.request;
    let topologyMoved = false;
    return {
      beforeFence: async () => {
        await guard.freeze();
        const settleMs = Math.min(
          this.context.freezeSettleMs ?? freezeSettleMsDefault,
          freezeSettleMsMax,
        );
        if (settleMs > 0) {
          await timeline.run('let-freeze-reach-followers', () => pause(settleMs));
        }
      },
      // The cell's processes repoint while the slots are still frozen, so the first write after
      // the unfreeze already goes to the new primary.
      beforePromote: () =>
        timeline.run('record-new-primary-in-topology', async () => {
          const topology = await this.context.topology.setPrimary(cellId, toRegion, {
            actor: this.context.actor,
            action: 'topology.set-primary',
            subject: cellId,
          });
          topologyMoved = true;
          await publishTopology(
            this.context.redis,
            topologyRedisKeys(this.context.redisPrefix),
            topology,
          );
        }),
      afterPromote: async () => {
        // Writes resume first; the active region is bookkeeping and can follow a moment later.
        await guard.unfreeze();
        const regions = plan.routingCell;
        if (
          regions !== undefined &&
          [regions.homeRegion, regions.standbyRegion].includes(toRegion)
        ) {
          await timeline.run('set-active-region', () =>
            this.publishRouting(
              this.context.routing.setCell(
                cellId,
                { activeRegion: toRegion },
                { actor: this.context.actor, action: 'routing.set-active-region', subject: cellId },
              ),
            ),
          );
        }
      },
      afterAbort: async () => {
        if (topologyMoved) {
          await timeline.run('restore-topology', async () => {
            const topology = await this.context.topology.setPrimary(cellId, plan.fromRegion, {
              actor: this.context.actor,
              action: 'topology.set-primary',
              subject: `${cellId} (failover aborted)`,
            });
            await publishTopology(
              this.context.redis,
              topologyRedisKeys(this.context.redisPrefix),
              topology,
            );
          });
        }
        await guard.unfreeze();
      },
    };
  }

  private async publishRouting(change: Promise<RoutingTable>): Promise<RoutingTable> {
    const table = await change;
    await publishRoutingTable(
      this.context.redis,
      routingRedisKeys(this.context.redisPrefix),
      table,
    );
    return table;
  }

  private async finish(
    kind: 'planned' | 'unplanned',
    plan: Awaited<ReturnType<CellFailover['plan']>>,
    guard: FreezeGuard,
    timeline: CellOperationTimeline,
    engine: FailoverReport,
    rejoin: RejoinReport | null,
  ): Promise<CellFailoverResult> {
    const topologyAfter = (await this.context.topology.load())?.value ?? plan.topology;
    const epochAfter = (await this.context.routing.readEpoch()) ?? plan.epochBefore;
    await plan.pair.primary.close();
    await plan.pair.replica.close();
    return {
      kind,
      cellId: plan.request.cellId,
      fromRegion: plan.fromRegion,
      toRegion: plan.request.toRegion,
      // The engine's steps are appended when it returns; in time order they interleave the hooks.
      steps: [...timeline.steps].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime()),
      engine,
      frozenMs: guard.frozenMs,
      topologyBefore: plan.topology,
      topologyAfter,
      epochBefore: plan.epochBefore,
      epochAfter,
      rejoin,
    };
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Freezes and unfreezes a cell's slots (each an audited routing change with an epoch bump,
 * published at once), and remembers for how long they were frozen.
 */
export class FreezeGuard {
  private frozenAt: number | undefined;
  private unfrozenAt: number | undefined;

  constructor(
    private readonly context: CellOperationContext,
    private readonly timeline: CellOperationTimeline,
    private readonly slots: readonly number[],
    private readonly cellId: string,
  ) {}

  get frozenMs(): number {
    if (this.frozenAt === undefined) return 0;
    return (this.unfrozenAt ?? Date.now()) - this.frozenAt;
  }

  async freeze(): Promise<void> {
    await this.set('frozen');
    this.frozenAt = Date.now();
  }

  async unfreeze(): Promise<void> {
    if (this.frozenAt === undefined || this.unfrozenAt !== undefined) return;
    await this.set('active');
    this.unfrozenAt = Date.now();
  }

  private async set(state: 'frozen' | 'active'): Promise<void> {
    await this.timeline.run(
      state === 'frozen' ? 'freeze-slots' : 'unfreeze-slots',
      async () => {
        const table = await this.context.routing.setSlotState(this.slots, state, {
          actor: this.context.actor,
          action: state === 'frozen' ? 'routing.freeze' : 'routing.unfreeze',
          subject: this.cellId,
        });
        await publishRoutingTable(
          this.context.redis,
          routingRedisKeys(this.context.redisPrefix),
          table,
        );
        return table;
      },
      (table) => `${this.slots.length} slot(s) ${state}, epoch ${table.epoch}`,
    );
  }
}
