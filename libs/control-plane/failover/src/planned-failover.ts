import { FailoverErrorCode, FailoverException } from './failover.exception';
import { failoverLimitsDefault, type FailoverLimits } from './failover-limits';
import type { FailoverHooks, FailoverReport } from './failover-report';
import {
  formatGtidPosition,
  gtidPositionCovers,
  missingTransactionCount,
  type GtidPosition,
} from './gtid-position';
import { OperationTimeline, waitUntil } from './operation-timeline';
import type { ReplicationCredentials, ShardNode } from './shard-node';

export interface ShardPair {
  readonly primary: ShardNode;
  readonly replica: ShardNode;
  readonly replication: ReplicationCredentials;
}

/**
 * Planned failover of one shard pair: fence the primary, let the replica apply everything, swap
 * the roles, make the new primary writable. Failback is the same call with the pair reversed.
 * Until the new primary is writable every failure puts the pair back as it was (old primary
 * writable, replica replicating from it), so an aborted failover loses nothing.
 */
export async function plannedFailover(
  pair: ShardPair,
  hooks: FailoverHooks = {},
  limits: FailoverLimits = failoverLimitsDefault,
): Promise<FailoverReport> {
  const { primary, replica } = pair;
  const timeline = new OperationTimeline();
  const before = await timeline.run('read-facts', limits.replicationCommandMs, async () => ({
    primary: await primary.facts(),
    replica: await replica.facts(),
  }));
  const source = before.replica.replica;
  if (
    source === null ||
    source.sourcePort !== primary.endpoint.port ||
    !source.ioThreadRunning ||
    !source.sqlThreadRunning
  ) {
    throw new FailoverException(
      FailoverErrorCode.replicaNotReplicatingFromPrimary,
      `${replica.name} is not replicating from ${primary.name}; nothing was changed`,
      {
        source: source === null ? 'none' : `${source.sourceHost}:${source.sourcePort}`,
        ioThreadRunning: source?.ioThreadRunning ?? false,
        sqlThreadRunning: source?.sqlThreadRunning ?? false,
      },
    );
  }

  let fencedAt = 0;
  let killedConnections = 0;
  let rolesSwapped = false;
  try {
    await runHook(timeline, 'hook-before-fence', limits, hooks.beforeFence);
    fencedAt = Date.now();
    killedConnections = (
      await timeline.run('fence-primary', limits.fenceMs, () => primary.fence(limits.fenceGraceMs))
    ).killedConnections;
    const finalPosition = await primary.binlogPosition();
    await timeline.run('wait-replica-caught-up', limits.catchUpMs, () =>
      waitForApplied(replica, finalPosition, limits),
    );
    await timeline.run('stop-replica', limits.replicationCommandMs, () =>
      replica.forgetReplicationSource(),
    );
    rolesSwapped = true;
    await timeline.run('attach-old-primary', limits.attachMs, async () => {
      await primary.replicateFrom(replica.endpoint, pair.replication);
      await replica.setSemiSyncSource(true);
      await waitForSemiSyncClient(replica, limits);
    });
    await runHook(timeline, 'hook-before-promote', limits, hooks.beforePromote);
    await timeline.run('promote', limits.replicationCommandMs, () => replica.unfence());
  } catch (error) {
    if (fencedAt !== 0) {
      await timeline.run('roll-back', limits.attachMs, () => rollBack(pair, rolesSwapped, limits));
      await runHook(timeline, 'hook-after-abort', limits, () =>
        hooks.afterAbort ? hooks.afterAbort(error) : Promise.resolve(),
      );
    }
    throw error;
  }
  const writeUnavailableMs = Date.now() - fencedAt;
  const promotedAtPosition = await replica.binlogPosition();
  await runHook(timeline, 'hook-after-promote', limits, hooks.afterPromote);
  const after = await timeline.run('read-facts-after', limits.replicationCommandMs, async () => ({
    primary: await replica.facts(),
    replica: await primary.facts(),
  }));
  return {
    kind: 'planned',
    from: primary.name,
    to: replica.name,
    timeline: timeline.steps,
    writeUnavailableMs,
    promotedAtPosition: formatGtidPosition(promotedAtPosition),
    before,
    after,
    semiSyncEstablished: after.primary.semiSync.sourceActive && after.primary.semiSync.clients > 0,
    killedConnections,
    unacknowledgedTail: null,
  };
}

/** Waits until `node` has applied every transaction of `wanted`; fails with the gap otherwise. */
export async function waitForApplied(
  node: ShardNode,
  wanted: GtidPosition,
  limits: FailoverLimits,
): Promise<void> {
  let applied: GtidPosition = new Map();
  const caughtUp = await waitUntil(
    async () => {
      applied = await node.replicaAppliedPosition();
      return gtidPositionCovers(applied, wanted);
    },
    limits.catchUpMs,
    limits.pollIntervalMs,
  );
  if (!caughtUp) {
    throw new FailoverException(
      FailoverErrorCode.replicaCatchUpTimedOut,
      `${node.name} did not apply ${formatGtidPosition(wanted)} within ${limits.catchUpMs} ms ` +
        `(applied ${formatGtidPosition(applied)}, ${missingTransactionCount(applied, wanted)} missing)`,
      {
        wanted: formatGtidPosition(wanted),
        applied: formatGtidPosition(applied),
        missingTransactions: missingTransactionCount(applied, wanted).toString(),
      },
    );
  }
}

/** Waits (bounded) for a semi-sync replica to connect; returns whether one did. */
export async function waitForSemiSyncClient(
  node: ShardNode,
  limits: FailoverLimits,
): Promise<boolean> {
  return waitUntil(
    async () => (await node.semiSyncStatus()).clients > 0,
    limits.attachMs,
    limits.pollIntervalMs,
  );
}

export async function runHook(
  timeline: OperationTimeline,
  step: string,
  limits: FailoverLimits,
  hook: (() => Promise<void>) | undefined,
): Promise<void> {
  if (hook === undefined) return;
  await timeline.run(step, limits.hookMs, hook);
}

/**
 * Puts the pair back as it was before the fence: the old primary forgets any new source and takes
 * writes again, the replica replicates from it. Only reached before the new primary was writable,
 * so the old primary's data is still the authoritative whole.
 */
async function rollBack(pair: ShardPair, rolesSwapped: boolean, limits: FailoverLimits) {
  const { primary, replica } = pair;
  if (rolesSwapped) {
    await primary.forgetReplicationSource();
    await replica.setSemiSyncSource(false);
    await replica.replicateFrom(primary.endpoint, pair.replication);
    await primary.setSemiSyncSource(true);
    await waitForSemiSyncClient(primary, limits);
  }
  await primary.unfence();
}
