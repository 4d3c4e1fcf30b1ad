import type { SettlementRecords, SettlementStore } from '@cellpay/settlement-cell';

/** The store with some of its records' methods replaced (planted bugs, observation). */
export function decorated(
  store: SettlementStore,
  replace: (records: SettlementRecords) => Partial<SettlementRecords>,
): SettlementStore {
  return {
    in: (tx) => {
      const records = store.in(tx);
      return { ...records, ...replace(records) };
    },
  };
}
