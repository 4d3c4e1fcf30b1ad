import { liveTables, migrateCellShard, MysqlCellStore } from '@cellpay/cell-data-access';
import { createTestShard } from '@cellpay/cell-testing';

import { cellServicesSuite } from './__tests__/cell-services.suite';

cellServicesSuite('MySQL adapter on MariaDB', {
  open: async () => {
    const shard = await createTestShard((pool) => migrateCellShard(pool, liveTables));
    return { unitOfWork: new MysqlCellStore(shard.pool), close: () => shard.drop() };
  },
});
