import { cellStoreContract } from '../__tests__/cell-store.contract';
import { MemoryCellStore } from './memory-cell-store';

cellStoreContract('in-memory adapter', async () => ({
  unitOfWork: new MemoryCellStore(),
  close: async () => undefined,
}));
