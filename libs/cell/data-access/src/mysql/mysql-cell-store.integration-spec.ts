import { cellStoreContract } from '../__tests__/cell-store.contract';
import { createTestShard } from '@cellpay/cell-testing';
import { cellSchemaVersion, migrateCellShard } from './migrations';
import { MysqlCellStore } from './mysql-cell-store';
import { liveTables, shadowTables } from './table-set';

cellStoreContract('MySQL adapter on MariaDB', async () => {
  const shard = await createTestShard(async (pool) => {
    await migrateCellShard(pool, liveTables);
    await migrateCellShard(pool, shadowTables);
  });
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

describe('MySQL unit of work retries', () => {
  const lockError = (errno: number): Error => Object.assign(new Error(`errno ${errno}`), { errno });

  it('retries a unit on deadlock or lock-wait timeout, a bounded number of times', async () => {
    const shard = await createTestShard((pool) => migrateCellShard(pool, liveTables));
    const store = new MysqlCellStore(shard.pool, () => liveTables, {
      transactionAttemptsMax: 3,
      retryBackoffMs: 1,
      lockWaitTimeoutSeconds: 1,
    });
    try {
      let attempts = 0;
      const result = await store.run('retry', async () => {
        attempts += 1;
        if (attempts === 1) throw lockError(1213);
        if (attempts === 2) throw lockError(1205);
        return 'committed';
      });
      expect({ result, attempts }).toEqual({ result: 'committed', attempts: 3 });

      attempts = 0;
      await expect(
        store.run('retry', async () => {
          attempts += 1;
          throw lockError(1213);
        }),
      ).rejects.toMatchObject({ code: 'transaction_retries_exhausted' });
      expect(attempts).toBe(3);

      attempts = 0;
      await expect(
        store.run('no-retry', async () => {
          attempts += 1;
          throw lockError(1062);
        }),
      ).rejects.toThrow('errno 1062');
      expect(attempts).toBe(1);
    } finally {
      await shard.drop();
    }
  });
});
