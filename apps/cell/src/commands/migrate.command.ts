import { readFileSync } from 'node:fs';

import { liveTables, migrateCellShard } from '@cellpay/cell-data-access';
import { migrateSettlementShard } from '@cellpay/settlement-cell';
import { createMysqlPool, type MysqlEndpoint, mysqlEndpointOf } from '@cellpay/connections';
import type { Logger } from '@cellpay/observability';

import type { CellConfig } from '../cell-config';

interface EndpointsFile {
  readonly mysql: { readonly host: string; readonly user: string; readonly password: string };
  readonly cells: readonly {
    readonly id: string;
    readonly database: string;
    readonly primary: { readonly port: number };
  }[];
}

/** The shards to migrate: every cell primary of the infra endpoints file, or the configured one. */
export function shardsToMigrate(
  config: CellConfig,
): { readonly name: string; readonly endpoint: MysqlEndpoint }[] {
  if (config.CELLPAY_INFRA_ENDPOINTS_FILE !== '') {
    const file = JSON.parse(
      readFileSync(config.CELLPAY_INFRA_ENDPOINTS_FILE, 'utf8'),
    ) as EndpointsFile;
    return file.cells.map((cell) => ({
      name: cell.id,
      endpoint: { ...file.mysql, port: cell.primary.port, database: cell.database },
    }));
  }
  return [{ name: config.CELLPAY_CELL_ID, endpoint: mysqlEndpointOf(config.CELLPAY_MYSQL_URL) }];
}

/**
 * Applies the cell migrations, then settlement's (the cell process serves cross-cell payments, the
 * relay reads the same tables), to each shard in turn; stops at the first failure.
 */
export async function migrateCommand(config: CellConfig, logger: Logger): Promise<number> {
  for (const shard of shardsToMigrate(config)) {
    const pool = createMysqlPool(shard.endpoint);
    try {
      const applied = await migrateCellShard(pool, liveTables);
      logger.info({ shard: shard.name, applied }, 'cell migrations applied');
      const settlementApplied = await migrateSettlementShard(pool);
      logger.info(
        { shard: shard.name, applied: settlementApplied },
        'settlement migrations applied',
      );
    } finally {
      await pool.end();
    }
  }
  return 0;
}
