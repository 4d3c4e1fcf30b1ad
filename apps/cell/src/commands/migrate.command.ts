import { readFileSync } from 'node:fs';

import { shadowSchemaDifferences } from '@cellpay/cell-data-access';
import { createMysqlPool, type MysqlEndpoint, mysqlEndpointOf } from '@cellpay/connections';
import type { Logger } from '@cellpay/observability';

import type { CellConfig } from '../cell-config';
import { migrateShardTableSets, shadowTablePairs } from '../shadow/shard-tables';

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
 * Applies the cell's and settlement's migrations to each shard in turn, to the live tables and to
 * their shadow copies (stress traffic), then proves every shadow table has its live table's exact
 * definition. Stops at the first failure; exit 1 if a shadow table drifted.
 */
export async function migrateCommand(config: CellConfig, logger: Logger): Promise<number> {
  for (const shard of shardsToMigrate(config)) {
    const pool = createMysqlPool(shard.endpoint);
    try {
      const applied = await migrateShardTableSets(pool);
      logger.info({ shard: shard.name, applied }, 'cell migrations applied');
      const differences = await shadowSchemaDifferences(pool, shadowTablePairs());
      if (differences.length > 0) {
        logger.error({ shard: shard.name, differences }, 'shadow tables differ from live tables');
        return 1;
      }
    } finally {
      await pool.end();
    }
  }
  return 0;
}
