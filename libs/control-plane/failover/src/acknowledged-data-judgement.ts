import { missingGtidRanges, missingTransactionCount, parseGtidPosition } from './gtid-position';
import type { PrimaryDeath } from './primary-monitor';

/**
 * Transactions the dead primary wrote to its binary log that the replica never received, while
 * semi-sync (AFTER_SYNC) stayed on: each was waiting for the replica's acknowledgement, so none was
 * ever acknowledged to a client. Promoting without them loses nothing a client was told happened.
 */
export interface UnacknowledgedTail {
  /** At least this many: the primary may have written more after its last observation. */
  readonly transactionCount: number;
  /** Per domain, `0-11-43..0-11-45` (or one GTID). */
  readonly gtidRanges: string;
  /** The primary's last observed `gtid_binlog_pos` and the replica's `Gtid_IO_Pos`. */
  readonly primaryLastSeenPosition: string;
  readonly replicaReceivedPosition: string;
}

export interface AcknowledgedDataJudgement {
  /** Why the replica may lack acknowledged transactions; empty when it may be promoted. */
  readonly reasons: readonly string[];
  /** The numbers behind the judgement, for the refusal and the report. */
  readonly facts: Readonly<Record<string, string | boolean>>;
  /** Set when the primary's binlog was ahead of the replica with nothing of it acknowledged. */
  readonly unacknowledgedTail: UnacknowledgedTail | null;
}

/**
 * Decides whether the replica has every transaction the dead primary acknowledged to a client.
 *
 * With semi-sync AFTER_SYNC a commit is written to the primary's binlog, then waits for the
 * replica's acknowledgement, and only then returns to the client. So a transaction in the
 * primary's binlog that the replica never received was never acknowledged, as long as semi-sync
 * stayed on for the whole watch: status ON at the last observation and `Rpl_semi_sync_master_no_tx`
 * (commits that returned without an acknowledgement) unchanged since the first. Such a tail is not
 * a reason to refuse; it is recorded. The replica may lack acknowledged data, and the promotion is
 * refused, when:
 * - the primary was never observed alive (its semi-sync state is unknown);
 * - semi-sync was OFF at the last observation (fallen back to asynchronous replication);
 * - `no_tx` grew while watched (commits were acknowledged without the replica);
 * - the last observation is older than `observationAgeMsMax` at the first failed probe: between
 *   them the primary could have fallen back to async and acknowledged commits nobody saw.
 */
export function judgeAcknowledgedData(
  death: PrimaryDeath,
  replicaReceivedPosition: string,
  observationAgeMsMax: number,
): AcknowledgedDataJudgement {
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
    return { reasons, facts, unacknowledgedTail: null };
  }
  const observationAgeMs = death.firstFailureAt.getTime() - last.at.getTime();
  facts['lastObservationAgeMs'] = String(observationAgeMs);
  if (observationAgeMs > observationAgeMsMax) {
    reasons.push(
      `the last observation of the primary (${last.at.toISOString()}) is ${observationAgeMs} ms ` +
        `older than its first failed probe (bound ${observationAgeMsMax} ms): too old to judge ` +
        'whether semi-sync stayed on until the death',
    );
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
  const received = parseGtidPosition(replicaReceivedPosition);
  const written = parseGtidPosition(last.gtidBinlogPosition);
  const missing = missingTransactionCount(received, written);
  facts['missingTransactions'] = missing.toString();
  if (missing === 0n) return { reasons, facts, unacknowledgedTail: null };
  if (reasons.length > 0) {
    reasons.push(
      `the replica received up to ${replicaReceivedPosition || '(nothing)'} but the primary had ` +
        `written up to ${last.gtidBinlogPosition}: ${missing} transaction(s) missing`,
    );
    return { reasons, facts, unacknowledgedTail: null };
  }
  const unacknowledgedTail: UnacknowledgedTail = {
    transactionCount: Number(missing),
    gtidRanges: missingGtidRanges(received, written),
    primaryLastSeenPosition: last.gtidBinlogPosition,
    replicaReceivedPosition,
  };
  facts['unacknowledgedTail'] = unacknowledgedTail.gtidRanges;
  return { reasons, facts, unacknowledgedTail };
}
