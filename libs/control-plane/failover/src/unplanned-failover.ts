import { FailoverErrorCode, FailoverException } from './failover.exception';
import { failoverLimitsDefault, type FailoverLimits } from './failover-limits';
import type { FailoverHooks, FailoverReport } from './failover-report';
import {
  formatGtidPosition,
  gtidHistoryIsPrefixOf,
  gtidPositionCovers,
  missingTransactionCount,
  parseGtidPosition,
} from './gtid-position';
import { OperationTimeline, waitUntil } from './operation-timeline';
import { runHook, waitForApplied, waitForSemiSyncClient, type ShardPair } from './planned-failover';
import type { PrimaryDeath } from './primary-monitor';
import type { ReplicationCredentials, ShardNode } from './shard-node';

export interface UnplannedFailoverOptions {
  /**
   * Promote even when the replica may lack acknowledged transactions. The refusal's facts are
   * still returned in the report's timeline, so the data loss is on record.
   */
  readonly force?: boolean;
}

/**
 * The reasons to believe the replica may miss a commit the dead primary acknowledged to a client.
 * With semi-sync AFTER_SYNC an acknowledged commit was received by the replica, unless the primary
 * had fallen back to asynchronous replication; the monitor's observations tell whether it had.
 */
export function acknowledgedDataRisks(
  death: PrimaryDeath,
  replicaReceivedPosition: string,
): { readonly reasons: readonly string[]; readonly facts: Record<string, string | boolean> } {
  const reasons: string[] = [];
  const first = death.firstObservation;
  const last = death.lastObservation;
  const facts: Record<string, string | boolean> = {
    replicaReceived: replicaReceivedPosition,
    primaryLastSeenPosition: last?.gtidBinlogPosition ?? 'never observed',
    semiSyncActiveAtLastObservation: last?.semiSync.sourceActive ?? false,
    unacknowledgedCommitsAtFirstObservation: (
      first?.semiSync.unacknowledgedCommits ?? 0n
    ).toString(),
    unacknowledgedCommitsAtLastObservation: (last?.semiSync.unacknowledgedCommits ?? 0n).toString(),
  };
  if (first === null || last === null) {
    reasons.push('the primary was never observed alive, so its semi-sync state is unknown');
    return { reasons, facts };
  }
  if (!last.semiSync.sourceActive) {
    reasons.push(
      'semi-sync was OFF at the last observation (the primary had fallen back to asynchronous ' +
        'replication, so it acknowledged commits the replica had not received)',
    );
  }
  const unacknowledged = last.semiSync.unacknowledgedCommits - first.semiSync.unacknowledgedCommits;
  if (unacknowledged > 0n) {
    reasons.push(
      `${unacknowledged} commit(s) were acknowledged without a replica acknowledgement while ` +
        `the monitor watched (Rpl_semi_sync_master_no_tx ${first.semiSync.unacknowledgedCommits} -> ` +
        `${last.semiSync.unacknowledgedCommits})`,
    );
  }
  const missing = missingTransactionCount(
    parseGtidPosition(replicaReceivedPosition),
    parseGtidPosition(last.gtidBinlogPosition),
  );
  facts['missingTransactions'] = missing.toString();
  if (missing > 0n) {
    reasons.push(
      `the replica received up to ${replicaReceivedPosition || '(nothing)'} but the primary had ` +
        `written up to ${last.gtidBinlogPosition}: ${missing} transaction(s) missing`,
    );
  }
  return { reasons, facts };
}

/**
 * Unplanned failover after the monitor declared the primary dead: refuse if the replica may miss
 * acknowledged data (unless forced), let the replica apply its whole relay log, promote it.
 * Semi-sync stays off on the new primary until a replica rejoins, or its first commits would each
 * wait out the acknowledgement timeout.
 */
export async function unplannedFailover(
  pair: ShardPair,
  death: PrimaryDeath,
  options: UnplannedFailoverOptions = {},
  hooks: FailoverHooks = {},
  limits: FailoverLimits = failoverLimitsDefault,
): Promise<FailoverReport> {
  const { primary, replica } = pair;
  const timeline = new OperationTimeline();
  const before = await timeline.run('read-replica-facts', limits.replicationCommandMs, () =>
    replica.facts(),
  );
  await timeline.run('check-primary-dead', limits.replicationCommandMs, async () => {
    if (await primary.answers(limits.replicationCommandMs)) {
      throw new FailoverException(
        FailoverErrorCode.primaryStillAlive,
        `${primary.name} answers again; use a planned failover instead`,
      );
    }
  });
  const received = before.replica?.receivedPosition ?? '';
  await timeline.run('check-acknowledged-data', limits.replicationCommandMs, async () => {
    const risks = acknowledgedDataRisks(death, received);
    if (risks.reasons.length > 0 && options.force !== true) {
      throw new FailoverException(
        FailoverErrorCode.replicaMayMissAcknowledgedTransactions,
        `refusing to promote ${replica.name}: ${risks.reasons.join('; ')}. ` +
          'Bring the primary back, or pass --force to accept losing those transactions.',
        risks.facts,
      );
    }
  });
  await timeline.run('apply-relay-log', limits.catchUpMs, () =>
    waitForApplied(replica, parseGtidPosition(received), limits),
  );
  await timeline.run('stop-replica', limits.replicationCommandMs, () =>
    replica.forgetReplicationSource(),
  );
  await runHook(timeline, 'hook-before-promote', limits, hooks.beforePromote);
  await timeline.run('promote', limits.replicationCommandMs, async () => {
    await replica.setSemiSyncSource(false);
    await replica.unfence();
  });
  const promotedAt = Date.now();
  const promotedAtPosition = formatGtidPosition(await replica.binlogPosition());
  await runHook(timeline, 'hook-after-promote', limits, hooks.afterPromote);
  const after = await replica.facts();
  const writesStoppedAt = (death.lastAliveAt ?? death.firstFailureAt).getTime();
  return {
    kind: 'unplanned',
    from: primary.name,
    to: replica.name,
    timeline: timeline.steps,
    writeUnavailableMs: promotedAt - writesStoppedAt,
    promotedAtPosition,
    before: { primary: null, replica: before },
    after: { primary: after, replica: null },
    semiSyncEstablished: false,
    killedConnections: 0,
  };
}

export interface RejoinReport {
  readonly outcome: 'rejoined' | 'diverged';
  readonly node: string;
  readonly timeline: OperationTimeline['steps'];
  /** From the first answer of the returning server to read_only ON. */
  readonly fencedWithinMs: number;
  readonly killedConnections: number;
  readonly returningPosition: string;
  readonly promotedAtPosition: string;
}

/**
 * Watches for the old primary to come back, fences it before anything else, then attaches it as
 * a replica of the new primary if its GTID history is a prefix of the history the new primary was
 * promoted at. A diverged server stays fenced (read-only) and is reported; it never takes writes.
 */
export async function fenceAndRejoinReturningPrimary(
  returning: ShardNode,
  newPrimary: ShardNode,
  promotedAtPosition: string,
  replication: ReplicationCredentials,
  returnWaitMsMax: number,
  limits: FailoverLimits = failoverLimitsDefault,
): Promise<RejoinReport> {
  const timeline = new OperationTimeline();
  await timeline.run('wait-old-primary-returns', returnWaitMsMax, async () => {
    while (!(await returning.answers(limits.replicationCommandMs))) {
      await new Promise((resolve) => setTimeout(resolve, limits.pollIntervalMs));
    }
  });
  const answeredAt = Date.now();
  const fence = await timeline.run('fence-returning-primary', limits.fenceMs, () =>
    returning.fenceReturning(),
  );
  const fencedWithinMs = Date.now() - answeredAt;
  const returningPosition = await returning.binlogPosition();
  const report = {
    node: returning.name,
    fencedWithinMs,
    killedConnections: fence.killedConnections,
    returningPosition: formatGtidPosition(returningPosition),
    promotedAtPosition,
  };
  if (!gtidHistoryIsPrefixOf(returningPosition, parseGtidPosition(promotedAtPosition))) {
    return { ...report, outcome: 'diverged', timeline: timeline.steps };
  }
  const attach = async (): Promise<void> => {
    await returning.replicateFrom(newPrimary.endpoint, replication);
    const wanted = await newPrimary.binlogPosition();
    // Stop waiting a little before the step's own bound, so a replica that cannot follow is
    // reported with its replication threads' state and errors rather than as a bare timeout.
    // gtid_current_pos, not gtid_slave_pos: the returning server wrote much of the new primary's
    // history itself, and a transaction it already has is skipped, not applied, so its slave
    // position never reaches a position made only of its own transactions (seen when nothing was
    // written on the new primary between promotion and rejoin).
    const caughtUp = await waitUntil(
      async () => gtidPositionCovers(await returning.currentPosition(), wanted),
      Math.max(limits.pollIntervalMs, limits.attachMs - 2_000),
      limits.pollIntervalMs,
    );
    if (!caughtUp) {
      const replica = (await returning.facts()).replica;
      throw new FailoverException(
        FailoverErrorCode.rejoinFailed,
        `${returning.name} did not catch up with ${formatGtidPosition(wanted)}: ` +
          `io ${replica?.ioThreadRunning ? 'running' : 'stopped'} (${replica?.lastIoError ?? 'no replica'}), ` +
          `sql ${replica?.sqlThreadRunning ? 'running' : 'stopped'} (${replica?.lastSqlError ?? ''}), ` +
          `received ${replica?.receivedPosition ?? ''}; it stays fenced (read-only)`,
        { wanted: formatGtidPosition(wanted), received: replica?.receivedPosition ?? '' },
      );
    }
  };
  await timeline.run('attach-as-replica', limits.attachMs, attach);
  await timeline.run('enable-semi-sync', limits.attachMs, async () => {
    await newPrimary.setSemiSyncSource(true);
    if (!(await waitForSemiSyncClient(newPrimary, limits))) {
      throw new FailoverException(
        FailoverErrorCode.rejoinFailed,
        `${returning.name} replicates but never acknowledged as a semi-sync replica`,
      );
    }
  });
  return { ...report, outcome: 'rejoined', timeline: timeline.steps };
}
