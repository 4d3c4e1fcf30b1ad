import { FailoverErrorCode, FailoverException } from './failover.exception';
import { failoverLimitsDefault, type FailoverLimits } from './failover-limits';
import type { FailoverHooks, FailoverReport } from './failover-report';
import { judgeAcknowledgedData, type UnacknowledgedTail } from './acknowledged-data-judgement';
import {
  formatGtidPosition,
  gtidHistoryIsPrefixOf,
  gtidPositionCovers,
  missingGtidRanges,
  parseGtidPosition,
  type GtidPosition,
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
 * Unplanned failover after the monitor declared the primary dead: refuse if the replica may miss
 * acknowledged data (unless forced; see `judgeAcknowledgedData`), let the replica apply its whole
 * relay log, promote it. A tail the primary wrote but never acknowledged is left behind and
 * reported (`unacknowledgedTail`): the old primary then holds transactions the new one lacks.
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
  const judgement = await timeline.run(
    'check-acknowledged-data',
    limits.replicationCommandMs,
    async () => {
      const judged = judgeAcknowledgedData(death, received, limits.observationAgeMsMax);
      if (judged.reasons.length > 0 && options.force !== true) {
        throw new FailoverException(
          FailoverErrorCode.replicaMayMissAcknowledgedTransactions,
          `refusing to promote ${replica.name}: ${judged.reasons.join('; ')}. ` +
            'Bring the primary back, or pass --force to accept losing those transactions.',
          judged.facts,
        );
      }
      return judged;
    },
    (judged) => describeJudgement(judged.unacknowledgedTail, judged.reasons),
  );
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
    unacknowledgedTail: judgement.unacknowledgedTail,
  };
}

function describeJudgement(tail: UnacknowledgedTail | null, forcedPast: readonly string[]): string {
  const tailText =
    tail === null
      ? 'the replica has every transaction the primary was seen to write'
      : `${tail.transactionCount} unacknowledged transaction(s) left on the old primary ` +
        `(${tail.gtidRanges}); semi-sync stayed on, so no client was told they committed`;
  return forcedPast.length === 0 ? tailText : `forced past: ${forcedPast.join('; ')}`;
}

export interface RejoinReport {
  /**
   * `diverged`: the returning server holds transactions the new primary lacks (typically the
   * unacknowledged tail of an unplanned failover). It stays fenced (read-only), is never attached
   * as a replica, and needs a rebuild from the new primary (docs/operations.md).
   */
  readonly outcome: 'rejoined' | 'diverged';
  /** Diverged only: the returning server's transactions past the promotion point, as GTIDs. */
  readonly errantTransactions: string;
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
  const promotedAt = parseGtidPosition(promotedAtPosition);
  if (!gtidHistoryIsPrefixOf(returningPosition, promotedAt)) {
    return {
      ...report,
      outcome: 'diverged',
      errantTransactions: divergedTransactions(returningPosition, promotedAt),
      timeline: timeline.steps,
    };
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
  return { ...report, outcome: 'rejoined', errantTransactions: '', timeline: timeline.steps };
}

/**
 * The returning server's transactions the new primary's history lacks: past the promotion point
 * in a domain, or a last transaction of the same number written by another server.
 */
function divergedTransactions(returning: GtidPosition, promotedAt: GtidPosition): string {
  const past = missingGtidRanges(promotedAt, returning);
  if (past !== '') return past;
  return formatGtidPosition(
    new Map(
      [...returning].filter(
        ([domain, entry]) => promotedAt.get(domain)?.serverId !== entry.serverId,
      ),
    ),
  );
}
