import { CellError, CellErrorCode } from './cell-error';

/** The prefixes of every ID a cell hands out. */
export const idPrefixes = {
  account: 'acc',
  payment: 'pay',
  refund: 'rfd',
  transfer: 'trf',
  hold: 'hld',
  journal: 'jnl',
} as const;

export type IdKind = keyof typeof idPrefixes;
export type IdPrefix = (typeof idPrefixes)[IdKind];

/**
 * Accounts that belong to the cell itself (fee income, suspense, clearing, external funding) have
 * no user and therefore no routing slot; they carry this reserved slot, which no user ever hashes to.
 */
export const cellOwnedSlot = 9999;
export const slotMax = 9999;
export const idUniquePartLengthMax = 32;
export const idLengthMax = 4 + 4 + idUniquePartLengthMax;

const idPattern = /^(acc|pay|rfd|trf|hld|jnl)_(\d{4})([0-9A-Za-z]{8,32})$/;

export function formatId(kind: IdKind, slot: number, uniquePart: string): string {
  if (!Number.isInteger(slot) || slot < 0 || slot > slotMax) {
    throw new RangeError(`slot must be an integer from 0 to ${slotMax}, got ${slot}`);
  }
  if (!/^[0-9A-Za-z]{8,32}$/.test(uniquePart)) {
    throw new RangeError(`unique part must be 8 to 32 alphanumerics, got '${uniquePart}'`);
  }
  return `${idPrefixes[kind]}_${slot.toString().padStart(4, '0')}${uniquePart}`;
}

export interface ParsedId {
  readonly kind: IdKind;
  readonly slot: number;
}

/** Parses an ID of the expected kind and returns its slot; anything else is `malformed_id`. */
export function parseId(value: string, kind: IdKind): ParsedId {
  const match = value.length <= idLengthMax ? idPattern.exec(value) : null;
  if (match === null || match[1] !== idPrefixes[kind]) {
    throw new CellError(
      CellErrorCode.MalformedId,
      `'${value.slice(0, idLengthMax)}' is not a valid ${kind} ID`,
    );
  }
  return { kind, slot: Number(match[2]) };
}
