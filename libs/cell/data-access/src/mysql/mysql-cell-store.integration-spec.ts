import { cellStoreContract } from '../__tests__/cell-store.contract';
import { createTestShard } from '@cellpay/cell-testing';
import { cellSchemaVersion, migrateCellShard } from './migrations';
import { MysqlCellStore } from './mysql-cell-store';
import { liveTables, shadowTables } from './table-set';

cellStoreContract('MySQL adapter on MariaDB', async () => {
  const shard = await createTestShard((pool) => migrateCellShard(pool, liveTables));
  return { unitOfWork: new MysqlCellStore(shard.pool), close: () => shard.drop() };
});

describe('cell migrations', () => {
  it('apply once per shard and per table set, live and shadow', async () => {
    const shard = await createTestShard((pool) => migrateCellShard(pool, liveTables));
    try {
      expect(await migrateCellShard(shard.pool, liveTables)).toEqual([]);
      const shadow = await migrateCellShard(shard.pool, shadowTables);
      expect(shadow).toHaveLength(cellSchemaVersion);
      expect(await migrateCellShard(shard.pool, shadowTables)).toEqual([]);
      const [rows] = await shard.pool.query('SHOW TABLES LIKE "shadow_%"');
      expect((rows as unknown[]).length).toBe(13);
    } finally {
      await shard.drop();
    }
  });
});
