export * from './cell-reconciler';
export * from './migrate-slots';
export * from './migration-plan';
export * from './migration-limits';
export * from './migration.exception';
export type { CleanReport } from './source-cleaner';
export type { RowCounts } from './slot-copier';
export type { TableFigures, VerificationReport } from './slot-verifier';
export { slotOfId, slotOfIdempotentResponse } from './slot-schema';
