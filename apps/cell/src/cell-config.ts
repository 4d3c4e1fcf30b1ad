import {
  booleanSetting,
  ConfigError,
  type ConfigOf,
  enumSetting,
  integerSetting,
  readConfig,
  stringSetting,
} from '@cellpay/config';
import { mysqlCommitBatchingDefault } from '@cellpay/cell-data-access';
import {
  admissionQueueWaitMsMaxDefault,
  type AdmissionSettings,
  admissionSettingsForPool,
} from '@cellpay/cell-server';

/** Every variable the cell process reads, with its default, validated once at boot. */
export const cellConfigSchema = {
  CELLPAY_CELL_ID: stringSetting({ pattern: /^cell-\d{1,4}$/, defaultValue: 'cell-1' }),
  CELLPAY_SLOT_COUNT: integerSetting({ min: 1, max: 9_999, defaultValue: 100 }),
  CELLPAY_GRPC_PORT: integerSetting({ min: 1, max: 65_535, defaultValue: 50_061 }),
  /** /healthz, /readyz and /metrics; 0 picks a free port. */
  CELLPAY_OPS_PORT: integerSetting({ min: 0, max: 65_535, defaultValue: 9_465 }),
  CELLPAY_STORE: enumSetting(['mysql', 'memory'] as const, 'mysql'),
  CELLPAY_MYSQL_URL: stringSetting({ pattern: /^mysql:\/\/.+/, defaultValue: '' }),
  CELLPAY_MYSQL_CONNECTIONS_MAX: integerSetting({ min: 1, max: 500, defaultValue: 16 }),
  CELLPAY_GL_POSTING_DEFERRED: booleanSetting(false),
  /**
   * Commit batching of the money writes (docs/decisions.md, last item): concurrent payments share
   * one InnoDB transaction, a savepoint each, one COMMIT. Off by default.
   */
  CELLPAY_COMMIT_BATCHING: booleanSetting(false),
  /** Units of work in one batch transaction at most. */
  CELLPAY_COMMIT_BATCH_SIZE_MAX: integerSetting({
    min: 1,
    max: 256,
    defaultValue: mysqlCommitBatchingDefault.batchSizeMax,
  }),
  /** How long a lone unit waits for company while a batch slot is free (0: never waits). */
  CELLPAY_COMMIT_BATCH_WAIT_MS_MAX: integerSetting({
    min: 0,
    max: 10,
    defaultValue: mysqlCommitBatchingDefault.batchWaitMsMax,
  }),
  /** Batch transactions open at once; each holds one pool connection while it runs. */
  CELLPAY_COMMIT_BATCHES_IN_FLIGHT_MAX: integerSetting({
    min: 1,
    max: 64,
    defaultValue: mysqlCommitBatchingDefault.batchesInFlightMax,
  }),
  CELLPAY_INFRA_ENDPOINTS_FILE: stringSetting({ defaultValue: '' }),
  /**
   * The global zone and Redis, to follow the routing table: with both set, the cell refuses calls
   * for slots it does not own at its epoch. Without them (tests, a lone cell) it checks nothing.
   */
  CELLPAY_GLOBAL_MYSQL_URL: stringSetting({ pattern: /^(mysql:\/\/.+)?$/, defaultValue: '' }),
  CELLPAY_REDIS_URL: stringSetting({ pattern: /^(redis:\/\/.+)?$/, defaultValue: '' }),
  /**
   * Follow the shard topology of the global zone (needs the global zone and Redis): the cell
   * repoints its pool to its shard's primary after a failover. Off: CELLPAY_MYSQL_URL is fixed.
   */
  CELLPAY_FOLLOW_TOPOLOGY: booleanSetting(false),
  /**
   * Admission control (docs/processes.md): write calls (payments, transfers, ...) and read calls
   * (`Get*`) running at once, and waiting for a turn; one more is refused at once with
   * RESOURCE_EXHAUSTED `cell_overloaded`. 0 (the default) derives the bound from
   * CELLPAY_MYSQL_CONNECTIONS_MAX (`admissionPoolFactors`: writes 1x in flight and 2x waiting,
   * reads 2x and 4x). A call waits at most CELLPAY_ADMISSION_QUEUE_WAIT_MS_MAX for its turn.
   */
  CELLPAY_ADMISSION_WRITES_IN_FLIGHT_MAX: integerSetting({ min: 0, max: 10_000, defaultValue: 0 }),
  CELLPAY_ADMISSION_WRITES_QUEUE_LENGTH_MAX: integerSetting({
    min: 0,
    max: 100_000,
    defaultValue: 0,
  }),
  CELLPAY_ADMISSION_READS_IN_FLIGHT_MAX: integerSetting({ min: 0, max: 10_000, defaultValue: 0 }),
  CELLPAY_ADMISSION_READS_QUEUE_LENGTH_MAX: integerSetting({
    min: 0,
    max: 100_000,
    defaultValue: 0,
  }),
  CELLPAY_ADMISSION_QUEUE_WAIT_MS_MAX: integerSetting({
    min: 0,
    max: 60_000,
    defaultValue: admissionQueueWaitMsMaxDefault,
  }),
  CELLPAY_REDIS_PREFIX: stringSetting({ pattern: /^[a-z0-9_:-]{1,64}$/, defaultValue: 'cellpay' }),
  LOG_LEVEL: enumSetting(['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const, 'info'),
};

export type CellConfig = ConfigOf<typeof cellConfigSchema>;

/**
 * The admission bounds the configuration asks for: each bound given, or derived from the shard
 * pool's size when 0. A queue of 0 waiting calls is not expressible: 0 means derived.
 */
export function admissionSettingsOf(config: CellConfig): AdmissionSettings {
  const derived = admissionSettingsForPool(config.CELLPAY_MYSQL_CONNECTIONS_MAX);
  const given = (value: number, fallback: number): number => (value === 0 ? fallback : value);
  const queueWaitMsMax = config.CELLPAY_ADMISSION_QUEUE_WAIT_MS_MAX;
  return {
    writes: {
      ...derived.writes,
      inFlightMax: given(config.CELLPAY_ADMISSION_WRITES_IN_FLIGHT_MAX, derived.writes.inFlightMax),
      queueLengthMax: given(
        config.CELLPAY_ADMISSION_WRITES_QUEUE_LENGTH_MAX,
        derived.writes.queueLengthMax,
      ),
      queueWaitMsMax,
    },
    reads: {
      ...derived.reads,
      inFlightMax: given(config.CELLPAY_ADMISSION_READS_IN_FLIGHT_MAX, derived.reads.inFlightMax),
      queueLengthMax: given(
        config.CELLPAY_ADMISSION_READS_QUEUE_LENGTH_MAX,
        derived.reads.queueLengthMax,
      ),
      queueWaitMsMax,
    },
  };
}

export function readCellConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CellConfig {
  const config = readConfig(cellConfigSchema, env);
  if (
    config.CELLPAY_STORE === 'mysql' &&
    config.CELLPAY_MYSQL_URL === '' &&
    config.CELLPAY_INFRA_ENDPOINTS_FILE === ''
  ) {
    throw new ConfigError('CELLPAY_MYSQL_URL', 'is required when CELLPAY_STORE is mysql');
  }
  if (
    config.CELLPAY_FOLLOW_TOPOLOGY &&
    (config.CELLPAY_GLOBAL_MYSQL_URL === '' || config.CELLPAY_REDIS_URL === '')
  ) {
    throw new ConfigError(
      'CELLPAY_FOLLOW_TOPOLOGY',
      'needs CELLPAY_GLOBAL_MYSQL_URL and CELLPAY_REDIS_URL (the topology lives in the global zone)',
    );
  }
  if (
    config.CELLPAY_COMMIT_BATCHING &&
    config.CELLPAY_COMMIT_BATCHES_IN_FLIGHT_MAX >= config.CELLPAY_MYSQL_CONNECTIONS_MAX
  ) {
    throw new ConfigError(
      'CELLPAY_COMMIT_BATCHES_IN_FLIGHT_MAX',
      'must be below CELLPAY_MYSQL_CONNECTIONS_MAX (queries and look-ups need connections too)',
    );
  }
  return config;
}
