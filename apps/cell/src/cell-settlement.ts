import type { CellGrpcExtension } from '@cellpay/cell-server';
import {
  type CellRouter,
  MemorySettlementStore,
  MysqlSettlementStore,
  routerOf,
  settlementGrpcExtension,
} from '@cellpay/settlement-cell';

import type { CellConfig } from './cell-config';
import type { CellRouting } from './cell-routing';

/**
 * A cell that follows no routing table (no global zone configured) believes it owns every user,
 * as its slot guard does: it starts no cross-cell saga, refusing each as `payee_in_this_cell`.
 */
export function loneCellRouter(cellId: string): CellRouter {
  return { cellOfUser: () => cellId, cellOfSlot: () => cellId };
}

/**
 * Settlement's side of the cell API (cross-cell pay, transfer and refund, and the queries that
 * show settlement state), on the cell's own store, routed by the table the cell follows.
 */
export function cellSettlementExtension(
  config: CellConfig,
  routing: CellRouting | undefined,
): CellGrpcExtension {
  return settlementGrpcExtension({
    store:
      config.CELLPAY_STORE === 'mysql' ? new MysqlSettlementStore() : new MemorySettlementStore(),
    router:
      routing === undefined
        ? loneCellRouter(config.CELLPAY_CELL_ID)
        : routerOf(() => routing.follower.current()),
  });
}
