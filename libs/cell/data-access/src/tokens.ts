/** NestJS injection tokens of the cell's ports, shared by the three services and the app. */
export const unitOfWorkToken = Symbol('cellpay.cell.UnitOfWork');
export const clockToken = Symbol('cellpay.cell.Clock');
export const idGeneratorToken = Symbol('cellpay.cell.IdGenerator');
export const glPostingSwitchToken = Symbol('cellpay.cell.GlPostingSwitch');
export const cellSettingsToken = Symbol('cellpay.cell.CellSettings');
export const slotOwnershipToken = Symbol('cellpay.cell.SlotOwnership');

/** What a cell knows about itself. */
export interface CellSettings {
  readonly cellId: string;
  readonly slotCount: number;
}
