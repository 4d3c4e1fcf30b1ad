import {
  checkOperationAmount,
  type CurrencyCode,
  parseCurrency,
  parseMinorUnits,
} from '@cellpay/money';

import { asCellRule, CellError, CellErrorCode } from './cell-error';

/** The longest external identifier (user, merchant, out_trade_no, request ID) the cell stores. */
export const externalIdLengthMax = 64;
/** The longest page a query may ask for. */
export const pageSizeMax = 200;

const externalIdPattern = /^[0-9A-Za-z_\-.:]+$/;

/** Checks a caller-chosen identifier: required, bounded, printable ASCII without spaces. */
export function checkExternalId(field: string, value: string): string {
  if (value.length === 0) throw new CellError(CellErrorCode.FieldRequired, `${field} is required`);
  if (value.length > externalIdLengthMax) {
    throw new CellError(
      CellErrorCode.FieldTooLong,
      `${field} is ${value.length} characters, at most ${externalIdLengthMax} allowed`,
    );
  }
  if (!externalIdPattern.test(value)) {
    throw new CellError(
      CellErrorCode.MalformedField,
      `${field} has characters outside [0-9A-Za-z_-.:]`,
    );
  }
  return value;
}

export function checkCurrency(value: string): CurrencyCode {
  return asCellRule(() => parseCurrency(value));
}

/** Parses a wire amount (int64 as a decimal string) and applies the per-operation bounds. */
export function checkAmount(value: string, currency: CurrencyCode): bigint {
  return asCellRule(() => checkOperationAmount(parseMinorUnits(value), currency));
}

export function checkPageSize(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > pageSizeMax) {
    throw new CellError(
      CellErrorCode.PageSizeExceedsLimit,
      `page size must be from 1 to ${pageSizeMax}, got ${value}`,
    );
  }
  return value;
}
