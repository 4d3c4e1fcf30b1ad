import {
  booleanSetting,
  ConfigError,
  type ConfigOf,
  enumSetting,
  integerSetting,
  readConfig,
  stringSetting,
} from '@cellpay/config';
import { mysqlEndpointOf } from '@cellpay/connections';
import type { RelayRuntimeOptions } from '@cellpay/settlement-cell';

/** Every variable the relay process reads, with its default, validated once at boot. */
export const relayConfigSchema = {
  CELLPAY_CELL_ID: stringSetting({ pattern: /^cell-\d{1,3}$/ }),
  CELLPAY_SLOT_COUNT: integerSetting({ min: 1, max: 9_999, defaultValue: 100 }),
  /** The cell's own shard. */
  CELLPAY_MYSQL_URL: stringSetting({ pattern: /^mysql:\/\/.+/ }),
  CELLPAY_MYSQL_CONNECTIONS_MAX: integerSetting({ min: 2, max: 200, defaultValue: 8 }),
  /**
   * The global zone, for the `cross_cell_payments_paused` switch and the routing table (events
   * for accounts whose slot moved are forwarded); empty: never paused, every slot owned.
   */
  CELLPAY_GLOBAL_MYSQL_URL: stringSetting({ pattern: /^(mysql:\/\/.+)?$/, defaultValue: '' }),
  CELLPAY_REDIS_URL: stringSetting({ pattern: /^(redis:\/\/.+)?$/, defaultValue: '' }),
  CELLPAY_REDIS_PREFIX: stringSetting({ pattern: /^[a-z0-9_:-]{1,64}$/, defaultValue: 'cellpay' }),
  /**
   * Follow the shard topology of the global zone: after a failover the relay restarts its runtime
   * on the new primary. Off: CELLPAY_MYSQL_URL is fixed.
   */
  CELLPAY_FOLLOW_TOPOLOGY: booleanSetting(false),
  CELLPAY_KAFKA_BROKERS: stringSetting({ pattern: /^[^,\s]+(,[^,\s]+)*$/ }),
  CELLPAY_KAFKA_TOPIC_PREFIX: stringSetting({
    pattern: /^[a-z0-9_-]{1,40}$/,
    defaultValue: 'cellpay',
  }),
  /** Replicas of the cell's topics, which the relay creates when they are missing. */
  CELLPAY_KAFKA_REPLICATION_FACTOR: integerSetting({ min: 1, max: 5, defaultValue: 1 }),
  CELLPAY_OUTBOX_BATCH_SIZE_MAX: integerSetting({ min: 1, max: 5_000, defaultValue: 500 }),
  CELLPAY_OPS_PORT: integerSetting({ min: 0, max: 65_535, defaultValue: 9_466 }),
  LOG_LEVEL: enumSetting(['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const, 'info'),
};

export type RelayConfig = ConfigOf<typeof relayConfigSchema>;

export function readRelayConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): RelayConfig {
  const config = readConfig(relayConfigSchema, env);
  if ((config.CELLPAY_GLOBAL_MYSQL_URL === '') !== (config.CELLPAY_REDIS_URL === '')) {
    throw new ConfigError(
      'CELLPAY_REDIS_URL',
      'and CELLPAY_GLOBAL_MYSQL_URL are needed together to follow the switches',
    );
  }
  if (config.CELLPAY_FOLLOW_TOPOLOGY && config.CELLPAY_GLOBAL_MYSQL_URL === '') {
    throw new ConfigError(
      'CELLPAY_FOLLOW_TOPOLOGY',
      'needs CELLPAY_GLOBAL_MYSQL_URL and CELLPAY_REDIS_URL (the topology lives in the global zone)',
    );
  }
  return config;
}

/** The runtime's options from the validated configuration. */
export function relayRuntimeOptionsOf(config: RelayConfig): RelayRuntimeOptions {
  const shard = mysqlEndpointOf(config.CELLPAY_MYSQL_URL, 'CELLPAY_MYSQL_URL');
  const redisUrl = config.CELLPAY_REDIS_URL === '' ? undefined : new URL(config.CELLPAY_REDIS_URL);
  return {
    cellId: config.CELLPAY_CELL_ID,
    slotCount: config.CELLPAY_SLOT_COUNT,
    shard: { ...shard, database: shard.database ?? '' },
    shardConnectionsMax: config.CELLPAY_MYSQL_CONNECTIONS_MAX,
    kafkaBrokers: config.CELLPAY_KAFKA_BROKERS.split(','),
    topicPrefix: config.CELLPAY_KAFKA_TOPIC_PREFIX,
    topicReplicationFactor: config.CELLPAY_KAFKA_REPLICATION_FACTOR,
    batchSizeMax: config.CELLPAY_OUTBOX_BATCH_SIZE_MAX,
    opsPort: config.CELLPAY_OPS_PORT,
    redisPrefix: config.CELLPAY_REDIS_PREFIX,
    ...(redisUrl === undefined
      ? {}
      : {
          switches: {
            globalMysql: mysqlEndpointOf(
              config.CELLPAY_GLOBAL_MYSQL_URL,
              'CELLPAY_GLOBAL_MYSQL_URL',
            ),
            redis: { host: redisUrl.hostname, port: Number(redisUrl.port || '6379') },
          },
        }),
  };
}
