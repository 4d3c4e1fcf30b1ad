import { createMysqlPool, createRedis, mysqlEndpointOf } from '@cellpay/connections';

import { cellTopologyOf, primaryNodeOf, type Topology } from './topology';
import { createTopologyFollower, topologyRedisKeys, TopologyStore } from './topology-store';

export interface CellPrimaryFollowerOptions {
  readonly cellId: string;
  /** mysql:// URL of the global zone and redis:// URL of the cache, as the process was given. */
  readonly globalMysqlUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  /** Points the process at the primary; resolves true when it changed something. */
  readonly repoint: (host: string, port: number) => Promise<boolean>;
  readonly onRepointed: (primary: { host: string; port: number; version: bigint }) => void;
  readonly onError: (error: unknown) => void;
}

export interface CellPrimaryFollowing {
  close(): Promise<void>;
}

/**
 * A repoint that failed (the new primary refused a connection for a moment, Kafka was slow) leaves
 * the process pointing nowhere, and no further topology change may come to try again: the
 * follower retries it, each pause growing by `repointRetryDelayMs` up to `repointRetryDelayMsMax`,
 * until it succeeds, a newer topology supersedes it, or the follower closes.
 */
export const cellPrimaryFollowerLimits = {
  repointRetryDelayMs: 250,
  repointRetryDelayMsMax: 2_000,
} as const;

/**
 * Follows the shard topology in the global zone and repoints a cell's process (the cell's pool,
 * the relay) to its shard's primary whenever it moves, within a second of the change (Redis
 * pub/sub, then polls). Resolves once the process points at the primary of the current topology;
 * refuses to start when no topology was loaded (`cellctl topology load`).
 */
export async function followCellPrimary(
  options: CellPrimaryFollowerOptions,
): Promise<CellPrimaryFollowing> {
  const pool = createMysqlPool(
    mysqlEndpointOf(options.globalMysqlUrl, 'CELLPAY_GLOBAL_MYSQL_URL'),
    {
      connectionsMax: 2,
      queuedRequestsMax: 16,
      connectTimeoutMs: 2_000,
    },
  );
  const url = new URL(options.redisUrl);
  const endpoint = { host: url.hostname, port: Number(url.port || '6379') };
  const redis = createRedis(endpoint);
  const subscriber = createRedis(endpoint);
  const follower = createTopologyFollower(
    new TopologyStore(pool),
    redis,
    subscriber,
    { keys: topologyRedisKeys(options.redisPrefix) },
    options.onError,
  );
  // Repoints run one after the other, in version order, so a slow one is never overtaken.
  let repointing: Promise<void> = Promise.resolve();
  let latestVersion = -1n;
  let closed = false;
  let wakeRetry: (() => void) | undefined;
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeRetry = undefined;
        resolve();
      }, ms);
      wakeRetry = () => {
        clearTimeout(timer);
        wakeRetry = undefined;
        resolve();
      };
    });
  const repointTo = async (topology: Topology): Promise<void> => {
    const limits = cellPrimaryFollowerLimits;
    for (let attempt = 1; !closed && topology.version === latestVersion; attempt++) {
      try {
        const primary = primaryNodeOf(cellTopologyOf(topology, options.cellId));
        if (await options.repoint(primary.host, primary.port)) {
          options.onRepointed({ ...primary, version: topology.version });
        }
        return;
      } catch (error) {
        options.onError(error);
        await pause(Math.min(limits.repointRetryDelayMs * attempt, limits.repointRetryDelayMsMax));
      }
    }
  };
  follower.onChange((document) => {
    const topology: Topology = document.value;
    latestVersion = topology.version;
    // A newer topology ends the pause of a retry in progress, which then gives way to it.
    wakeRetry?.();
    repointing = repointing.then(() => repointTo(topology)).catch(options.onError);
  });
  const close = async (): Promise<void> => {
    closed = true;
    wakeRetry?.();
    await follower.stop().catch(() => undefined);
    await repointing;
    redis.disconnect();
    subscriber.disconnect();
    await pool.end();
  };
  try {
    // The first install (inside start) calls the listener too: the process starts on the primary.
    await follower.start();
    await repointing;
  } catch (error) {
    await close();
    throw error;
  }
  return { close };
}
