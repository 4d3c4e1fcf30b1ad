import { type DynamicModule, Module } from '@nestjs/common';

import { AccountModule } from '@cellpay/cell-account';
import { AccountingModule } from '@cellpay/cell-accounting';
import { CellPersistenceModule, type CellPersistenceOptions } from '@cellpay/cell-data-access';
import { PaymentModule } from '@cellpay/cell-payment';

/**
 * The cell: its three services on one unit of work (one shard pool), so a payment's record, its
 * balance changes and its journal lines commit in one shard transaction.
 */
@Module({})
export class CellModule {
  static register(persistence: CellPersistenceOptions): DynamicModule {
    return {
      module: CellModule,
      imports: [
        CellPersistenceModule.register(persistence),
        AccountingModule,
        AccountModule,
        PaymentModule,
      ],
    };
  }
}
