import type { Pool } from 'mysql2/promise';

import type { CellPersistenceOptions } from '@cellpay/cell-data-access';
import {
  MemoryCellStore,
  MysqlCellStore,
  RandomIdGenerator,
  SystemClock,
} from '@cellpay/cell-data-access';
import { createMysqlPool, mysqlPoolLimitsDefault, mysqlEndpointOf } from '@cellpay/connections';

import type { CellConfig } from './cell-config';

export interface CellRuntime {
  readonly persistence: CellPersistenceOptions;
  /** One round trip to the shard (nothing to do in memory): the readiness loop calls it. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Wires the real ports from the configuration: the shard pool (or memory), clock, IDs, switch. */
export function createCellRuntime(config: CellConfig): CellRuntime {
  const clock = new SystemClock();
  let pool: Pool | undefined;
  if (config.CELLPAY_STORE === 'mysql') {
    pool = createMysqlPool(mysqlEndpointOf(config.CELLPAY_MYSQL_URL), {
      ...mysqlPoolLimitsDefault,
      connectionsMax: config.CELLPAY_MYSQL_CONNECTIONS_MAX,
    });
  }
  const glPostingDeferred = config.CELLPAY_GL_POSTING_DEFERRED;
  return {
    persistence: {
      unitOfWork: pool === undefined ? new MemoryCellStore() : new MysqlCellStore(pool),
      clock,
      idGenerator: new RandomIdGenerator(clock),
      glPostingSwitch: { isGlPostingDeferred: () => glPostingDeferred },
      settings: { cellId: config.CELLPAY_CELL_ID, slotCount: config.CELLPAY_SLOT_COUNT },
    },
    ping: async () => {
      await pool?.query('SELECT 1');
    },
    close: async () => {
      await pool?.end();
    },
  };
}
