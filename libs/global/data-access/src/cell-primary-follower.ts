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
  follower.onChange((document) => {
    const topology: Topology = document.value;
    repointing = repointing
      .then(async () => {
        const primary = primaryNodeOf(cellTopologyOf(topology, options.cellId));
        if (await options.repoint(primary.host, primary.port)) {
          options.onRepointed({ ...primary, version: topology.version });
        }
      })
      .catch(options.onError);
  });
  const close = async (): Promise<void> => {
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
