import type { Pool } from 'mysql2/promise';

import { createMysqlPool, type MysqlPoolLimits } from '@cellpay/connections';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

export interface TestShard {
  readonly pool: Pool;
  readonly database: string;
  drop(): Promise<void>;
}

/**
 * A fresh database on the first cell primary of the running infrastructure, unique to this test,
 * prepared by `migrate` (the caller passes the cell migrations, which keeps this helper free of a
 * dependency on the data-access library it helps to test); `drop` removes it and closes the pool.
 */
export async function createTestShard(
  migrate: (pool: Pool) => Promise<unknown>,
  limits?: MysqlPoolLimits,
): Promise<TestShard> {
  const infra = readInfraEndpoints();
  const cell = infra.cells[0];
  if (cell === undefined) throw new Error('the infrastructure has no cells');
  const endpoint = { ...infra.mysql, port: cell.primary.port };
  const database = uniqueName('cell_test');
  const admin = createMysqlPool(endpoint);
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.end();
  const pool = createMysqlPool({ ...endpoint, database }, limits);
  await migrate(pool);
  return {
    pool,
    database,
    drop: async () => {
      await pool.query(`DROP DATABASE \`${database}\``);
      await pool.end();
    },
  };
}
