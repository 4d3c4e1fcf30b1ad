import { type DynamicModule, Global, Module } from '@nestjs/common';

import {
  type Clock,
  everySlotOwned,
  type GlPostingSwitch,
  type IdGenerator,
  type SlotOwnership,
  type UnitOfWork,
} from '@cellpay/cell-domain';

import {
  type CellSettings,
  cellSettingsToken,
  clockToken,
  glPostingSwitchToken,
  idGeneratorToken,
  slotOwnershipToken,
  unitOfWorkToken,
} from './tokens';

export interface CellPersistenceOptions {
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly idGenerator: IdGenerator;
  readonly glPostingSwitch: GlPostingSwitch;
  readonly settings: CellSettings;
  /**
   * Which user slots the ledger may write, from the routing table the process follows; absent
   * (embedded mode, the simulator, tests) every slot is owned.
   */
  readonly slotOwnership?: SlotOwnership;
}

/**
 * Provides the cell's ports to the three service modules: one unit of work (one shard pool, or one
 * in-memory store) shared by all of them, so a payment commits in one transaction.
 */
@Global()
@Module({})
export class CellPersistenceModule {
  static register(options: CellPersistenceOptions): DynamicModule {
    const providers = [
      { provide: unitOfWorkToken, useValue: options.unitOfWork },
      { provide: clockToken, useValue: options.clock },
      { provide: idGeneratorToken, useValue: options.idGenerator },
      { provide: glPostingSwitchToken, useValue: options.glPostingSwitch },
      { provide: cellSettingsToken, useValue: options.settings },
      { provide: slotOwnershipToken, useValue: options.slotOwnership ?? everySlotOwned },
    ];
    return {
      module: CellPersistenceModule,
      providers,
      exports: providers.map((provider) => provider.provide),
    };
  }
}
