import { MigrationError, MigrationErrorCode } from './migration.exception';
import { waitMs } from './wait';

/**
 * One process that enforces the routing table for a cell (the cell process, its relay), and how
 * to ask it which epoch it enforces now. `read` answers undefined when the process follows no
 * table at all, and throws when it cannot be asked.
 */
export interface RoutingEpochReader {
  /** Names the process in errors and progress (`cell-1 at 127.0.0.1:9465`). */
  readonly name: string;
  read(): Promise<bigint | undefined>;
}

/** The processes that could write a cell's slots: every one must have seen a freeze. */
export type RoutingEpochReaders = (cellId: string) => readonly RoutingEpochReader[];

/** How long one ask may take: a process that cannot answer in this time counts as unreachable. */
export const routingEpochReadTimeoutMs = 1_000;

/** Reads `GET /routing` on a process's ops port (`{"epoch":"12"}`, null when no table is followed). */
export function opsRoutingEpochReader(
  name: string,
  opsAddress: string,
  timeoutMs = routingEpochReadTimeoutMs,
): RoutingEpochReader {
  return {
    name: `${name} at ${opsAddress}`,
    read: async () => {
      const response = await fetch(`http://${opsAddress}/routing`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status !== 200) throw new Error(`/routing answered ${response.status}`);
      const body = (await response.json()) as { epoch?: unknown };
      if (body.epoch === null) return undefined;
      if (typeof body.epoch !== 'string' || !/^\d{1,19}$/.test(body.epoch)) {
        throw new Error(`/routing answered an unreadable epoch: ${JSON.stringify(body)}`);
      }
      return BigInt(body.epoch);
    },
  };
}

export interface FollowerWaitLimits {
  /** How long every process gets to report the epoch; then the migration fails. */
  readonly followersWaitMsMax: number;
  /** Pause between two rounds of asking the processes still behind. */
  readonly followersPollIntervalMs: number;
}

export interface FollowerWaitReport {
  readonly epoch: bigint;
  readonly waitedMs: number;
  /** Rounds of asking, the first included. */
  readonly rounds: number;
}

/**
 * Asks every reader, again and again, until each reports at least `epoch`, and fails with
 * `routing_followers_behind` when one cannot be asked, follows no table, or is still behind
 * after `followersWaitMsMax`. With no reader at all it fails too: nobody could be asked.
 */
export async function awaitRoutingEpoch(
  readers: readonly RoutingEpochReader[],
  epoch: bigint,
  limits: FollowerWaitLimits,
  signal?: AbortSignal,
): Promise<FollowerWaitReport> {
  if (readers.length === 0) {
    throw new MigrationError(
      MigrationErrorCode.RoutingFollowersBehind,
      `no process to ask for its routing epoch: the freeze at epoch ${epoch} cannot be confirmed`,
    );
  }
  const started = Date.now();
  let behind = [...readers];
  for (let rounds = 1; ; rounds++) {
    const lagging: { reader: RoutingEpochReader; why: string }[] = [];
    for (const reader of behind) {
      let seen: bigint | undefined;
      try {
        seen = await reader.read();
      } catch (error) {
        lagging.push({ reader, why: `cannot be asked (${describe(error)})` });
        continue;
      }
      if (seen === undefined) lagging.push({ reader, why: 'follows no routing table' });
      else if (seen < epoch) lagging.push({ reader, why: `enforces epoch ${seen}` });
    }
    if (lagging.length === 0) return { epoch, waitedMs: Date.now() - started, rounds };
    behind = lagging.map((entry) => entry.reader);
    if (Date.now() - started >= limits.followersWaitMsMax) {
      throw new MigrationError(
        MigrationErrorCode.RoutingFollowersBehind,
        `after ${limits.followersWaitMsMax} ms (followersWaitMsMax) not every process enforces epoch ${epoch}: ${lagging
          .map((entry) => `${entry.reader.name} ${entry.why}`)
          .join('; ')}`,
      );
    }
    await waitMs(limits.followersPollIntervalMs, signal);
    if (signal?.aborted === true) {
      throw new MigrationError(MigrationErrorCode.AbortedByOperator, 'interrupted by the operator');
    }
  }
}

function describe(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
