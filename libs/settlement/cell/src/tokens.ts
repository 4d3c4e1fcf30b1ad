/** NestJS injection tokens of settlement's ports inside a cell. */
export const settlementStoreToken = Symbol('cellpay.settlement.SettlementStore');
export const cellRouterToken = Symbol('cellpay.settlement.CellRouter');
