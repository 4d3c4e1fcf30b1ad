import { followCellPrimary, type CellPrimaryFollowing } from '@cellpay/global-data-access';
import type { Logger } from '@cellpay/observability';

import type { CellConfig } from './cell-config';
import type { CellRuntime } from './cell-runtime';

/**
 * With CELLPAY_FOLLOW_TOPOLOGY the cell repoints its shard pool to its primary whenever the
 * topology in the global zone moves it (a failover); see docs/decisions.md.
 */
export async function followShardTopology(
  config: CellConfig,
  runtime: CellRuntime,
  logger: Logger,
): Promise<CellPrimaryFollowing | undefined> {
  if (!config.CELLPAY_FOLLOW_TOPOLOGY) return undefined;
  return followCellPrimary({
    cellId: config.CELLPAY_CELL_ID,
    globalMysqlUrl: config.CELLPAY_GLOBAL_MYSQL_URL,
    redisUrl: config.CELLPAY_REDIS_URL,
    redisPrefix: config.CELLPAY_REDIS_PREFIX,
    repoint: (host, port) => runtime.repoint(host, port),
    onRepointed: (primary) =>
      logger.info(
        { primary: `${primary.host}:${primary.port}`, topologyVersion: String(primary.version) },
        'repointed to the shard primary',
      ),
    onError: (error) =>
      logger.warn({ err: error }, 'topology refresh failed; keeping the last one'),
  });
}
