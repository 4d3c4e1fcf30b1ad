import type { CellPersistenceOptions } from '@cellpay/cell-data-access';
import {
  MemoryCellStore,
  mysqlCellStoreOptionsDefault,
  mysqlCommitBatchingDefault,
  RandomIdGenerator,
  SystemClock,
} from '@cellpay/cell-data-access';
import { mysqlPoolLimitsDefault, mysqlEndpointOf } from '@cellpay/connections';

import type { CellConfig } from './cell-config';
import { RepointableUnitOfWork } from './repointable-unit-of-work';

export interface CellRuntime {
  readonly persistence: CellPersistenceOptions;
  /** One round trip to the shard (nothing to do in memory): the readiness loop calls it. */
  ping(): Promise<void>;
  /**
   * Sends new units of work to the shard primary at `host:port` (after a failover); false when it
   * already pointed there or the store is in memory.
   */
  repoint(host: string, port: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Wires the real ports from the configuration: the shard pool (or memory), clock, IDs, switch. */
export function createCellRuntime(config: CellConfig): CellRuntime {
  const clock = new SystemClock();
  let shard: RepointableUnitOfWork | undefined;
  if (config.CELLPAY_STORE === 'mysql') {
    shard = new RepointableUnitOfWork(
      mysqlEndpointOf(config.CELLPAY_MYSQL_URL),
      { ...mysqlPoolLimitsDefault, connectionsMax: config.CELLPAY_MYSQL_CONNECTIONS_MAX },
      config.CELLPAY_COMMIT_BATCHING
        ? {
            ...mysqlCellStoreOptionsDefault,
            batching: {
              ...mysqlCommitBatchingDefault,
              batchSizeMax: config.CELLPAY_COMMIT_BATCH_SIZE_MAX,
              batchWaitMsMax: config.CELLPAY_COMMIT_BATCH_WAIT_MS_MAX,
              batchesInFlightMax: config.CELLPAY_COMMIT_BATCHES_IN_FLIGHT_MAX,
            },
          }
        : mysqlCellStoreOptionsDefault,
    );
  }
  const glPostingDeferred = config.CELLPAY_GL_POSTING_DEFERRED;
  return {
    persistence: {
      unitOfWork: shard ?? new MemoryCellStore(),
      clock,
      idGenerator: new RandomIdGenerator(clock),
      glPostingSwitch: { isGlPostingDeferred: () => glPostingDeferred },
      settings: { cellId: config.CELLPAY_CELL_ID, slotCount: config.CELLPAY_SLOT_COUNT },
    },
    ping: async () => {
      await shard?.ping();
    },
    repoint: async (host, port) => (shard === undefined ? false : shard.repoint(host, port)),
    close: async () => {
      await shard?.close();
    },
  };
}
