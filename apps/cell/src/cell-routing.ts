import { type SlotOwnership, slotOwnershipOf } from '@cellpay/cell-domain';
import { createMysqlPool, createRedis, mysqlEndpointOf } from '@cellpay/connections';
import { RoutingFollower, RoutingStore, routingRedisKeys } from '@cellpay/global-data-access';
import type { Logger } from '@cellpay/observability';

import type { CellConfig } from './cell-config';
import type { CellObservability } from './observability/cell-observability';

export interface CellRouting {
  readonly follower: RoutingFollower;
  /** What the ledger may write, at the epoch the follower holds (the guard's table). */
  readonly slotOwnership: SlotOwnership;
  close(): Promise<void>;
}

/**
 * Follows the routing table from the global zone so the slot guard can refuse calls for slots
 * this cell does not own, and the ledger postings to accounts in them; exports the epoch on the
 * ops port. Undefined when the process was not given the global zone.
 */
export async function startCellRouting(
  config: CellConfig,
  logger: Logger,
  observability: Pick<CellObservability, 'followRouting'>,
): Promise<CellRouting | undefined> {
  if (config.CELLPAY_GLOBAL_MYSQL_URL === '' || config.CELLPAY_REDIS_URL === '') return undefined;
  const pool = createMysqlPool(
    mysqlEndpointOf(config.CELLPAY_GLOBAL_MYSQL_URL, 'CELLPAY_GLOBAL_MYSQL_URL'),
    { connectionsMax: 2, queuedRequestsMax: 16, connectTimeoutMs: 2_000 },
  );
  const url = new URL(config.CELLPAY_REDIS_URL);
  const endpoint = { host: url.hostname, port: Number(url.port || '6379') };
  const redis = createRedis(endpoint);
  const subscriber = createRedis(endpoint);
  const follower = new RoutingFollower(
    new RoutingStore(pool),
    redis,
    subscriber,
    { keys: routingRedisKeys(config.CELLPAY_REDIS_PREFIX) },
    (error) => logger.warn({ err: error }, 'routing refresh failed; keeping the last table'),
  );
  const table = await follower.start();
  logger.info(
    { epoch: String(table.epoch), slots: table.slotsOf(config.CELLPAY_CELL_ID).length },
    'following the routing table',
  );
  observability.followRouting(follower);
  return {
    follower,
    slotOwnership: slotOwnershipOf(config.CELLPAY_CELL_ID, () => follower.current()),
    close: async () => {
      await follower.stop();
      redis.disconnect();
      subscriber.disconnect();
      await pool.end();
    },
  };
}
