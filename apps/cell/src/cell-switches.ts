import { createMysqlPool, createRedis, mysqlEndpointOf } from '@cellpay/connections';
import {
  createSwitchFollower,
  switchRedisKeys,
  SwitchStore,
  type SwitchValues,
  type VersionedFollower,
} from '@cellpay/global-data-access';
import type { Logger } from '@cellpay/observability';

import type { CellConfig } from './cell-config';

export interface CellSwitches {
  readonly follower: VersionedFollower<SwitchValues>;
  /** Whether `stress_traffic_rejected` is on, from memory (the admission interceptor asks per call). */
  stressTrafficRejected(): boolean;
  close(): Promise<void>;
}

/**
 * Follows the degradation switches from the global zone (a Redis announcement, plus a periodic
 * version check), so the cell refuses stress traffic itself within a second of the switch, like
 * the gateway; undefined when the process was not given the global zone and Redis.
 */
export async function startCellSwitches(
  config: CellConfig,
  logger: Logger,
): Promise<CellSwitches | undefined> {
  if (config.CELLPAY_GLOBAL_MYSQL_URL === '' || config.CELLPAY_REDIS_URL === '') return undefined;
  const pool = createMysqlPool(
    mysqlEndpointOf(config.CELLPAY_GLOBAL_MYSQL_URL, 'CELLPAY_GLOBAL_MYSQL_URL'),
    { connectionsMax: 2, queuedRequestsMax: 16, connectTimeoutMs: 2_000 },
  );
  const url = new URL(config.CELLPAY_REDIS_URL);
  const endpoint = { host: url.hostname, port: Number(url.port || '6379') };
  const redis = createRedis(endpoint);
  const subscriber = createRedis(endpoint);
  const follower = createSwitchFollower(
    new SwitchStore(pool),
    redis,
    subscriber,
    { keys: switchRedisKeys(config.CELLPAY_REDIS_PREFIX) },
    (error) => logger.warn({ err: error }, 'switch refresh failed; keeping the last values'),
  );
  const initial = await follower.start();
  logger.info(
    {
      version: String(initial.version),
      stressTrafficRejected: initial.value.stressTrafficRejected,
    },
    'following the switches',
  );
  return {
    follower,
    stressTrafficRejected: () => follower.current().value.stressTrafficRejected,
    close: async () => {
      await follower.stop();
      redis.disconnect();
      subscriber.disconnect();
      await pool.end();
    },
  };
}
