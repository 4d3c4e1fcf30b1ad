import { MemoryCellStore } from '@cellpay/cell-data-access';

import { cellServicesSuite } from './__tests__/cell-services.suite';

cellServicesSuite('in-memory adapter', {
  open: async () => ({ unitOfWork: new MemoryCellStore(), close: async () => undefined }),
});
