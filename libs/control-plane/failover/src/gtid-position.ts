/**
 * A MariaDB GTID position (`@@gtid_binlog_pos` and friends): per replication domain, the last
 * transaction as `domain-server-sequence`. With `gtid_strict_mode` the sequence numbers of one
 * domain only grow, so "has every transaction of" is a per-domain comparison of sequence numbers.
 */
export interface GtidEntry {
  readonly domainId: number;
  readonly serverId: number;
  readonly sequence: bigint;
}

export type GtidPosition = ReadonlyMap<number, GtidEntry>;

const gtidPattern = /^(\d+)-(\d+)-(\d+)$/;

/** Parses `0-11-42,1-12-7` (the empty string is the empty position). Throws on anything else. */
export function parseGtidPosition(text: string): GtidPosition {
  const position = new Map<number, GtidEntry>();
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const match = gtidPattern.exec(trimmed);
    if (match === null) throw new Error(`not a GTID: '${trimmed}' in '${text}'`);
    const [, domainText = '', serverText = '', sequenceText = ''] = match;
    const domainId = Number(domainText);
    if (position.has(domainId)) throw new Error(`GTID domain ${domainId} twice in '${text}'`);
    position.set(domainId, {
      domainId,
      serverId: Number(serverText),
      sequence: BigInt(sequenceText),
    });
  }
  return position;
}

export function formatGtidPosition(position: GtidPosition): string {
  return [...position.values()]
    .sort((a, b) => a.domainId - b.domainId)
    .map((entry) => `${entry.domainId}-${entry.serverId}-${entry.sequence}`)
    .join(',');
}

/** True when `having` has applied every transaction up to `wanted`, in every domain. */
export function gtidPositionCovers(having: GtidPosition, wanted: GtidPosition): boolean {
  return missingTransactionCount(having, wanted) === 0n;
}

/**
 * How many transactions `wanted` has that `having` lacks, summed over domains (sequence numbers
 * are dense per domain under gtid_strict_mode, so the difference is a count).
 */
export function missingTransactionCount(having: GtidPosition, wanted: GtidPosition): bigint {
  let missing = 0n;
  for (const entry of wanted.values()) {
    const had = having.get(entry.domainId)?.sequence ?? 0n;
    if (entry.sequence > had) missing += entry.sequence - had;
  }
  return missing;
}

/**
 * True when the history ending at `candidate` is a prefix of the history that ended at `fork`
 * (the position the new primary was promoted at): nothing in `candidate` goes past `fork`, and
 * where both stop at the same sequence number they stop at the same transaction (same server).
 * An old primary that holds transactions beyond the promotion point has diverged and must not be
 * attached as a replica: its extra transactions would be silently kept or silently lost.
 */
export function gtidHistoryIsPrefixOf(candidate: GtidPosition, fork: GtidPosition): boolean {
  for (const entry of candidate.values()) {
    const forkEntry = fork.get(entry.domainId);
    if (forkEntry === undefined) return false;
    if (entry.sequence > forkEntry.sequence) return false;
    if (entry.sequence === forkEntry.sequence && entry.serverId !== forkEntry.serverId) {
      return false;
    }
  }
  return true;
}

/**
 * The transactions `wanted` has that `having` lacks, as GTID ranges per domain
 * (`0-11-43..0-11-45`, or `0-11-43` for one), in domain order; empty when nothing is missing.
 * The range is named with the server of `wanted`'s last transaction, the server that wrote it.
 */
export function missingGtidRanges(having: GtidPosition, wanted: GtidPosition): string {
  return [...wanted.values()]
    .sort((a, b) => a.domainId - b.domainId)
    .flatMap((entry) => {
      const first = (having.get(entry.domainId)?.sequence ?? 0n) + 1n;
      if (entry.sequence < first) return [];
      const name = (sequence: bigint) => `${entry.domainId}-${entry.serverId}-${sequence}`;
      return [first === entry.sequence ? name(first) : `${name(first)}..${name(entry.sequence)}`];
    })
    .join(',');
}
