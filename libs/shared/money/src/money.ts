import { type CurrencyCode, exponentOf, isCurrencyCode } from './currency';
import { MoneyError, MoneyErrorCode } from './money-error';

/** Echoes of caller input in error messages are cut to this, so a huge input is not sent back. */
const echoLengthMax = 40;

function echo(value: string): string {
  return value.length > echoLengthMax ? `${value.slice(0, echoLengthMax)}...` : value;
}

/**
 * The largest magnitude any amount may have: a signed 64-bit integer, which is what BIGINT columns
 * and int64 wire fields hold. Arithmetic that would leave this range is refused, never wrapped.
 */
export const amountMinorAbsoluteMax = 9_223_372_036_854_775_807n;

/** An exact amount: integer minor units plus the currency they are counted in. */
export interface Money {
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
}

export function parseCurrency(value: string): CurrencyCode {
  if (!isCurrencyCode(value)) {
    throw new MoneyError(MoneyErrorCode.UnknownCurrency, `unknown currency '${echo(value)}'`);
  }
  return value;
}

function checkRange(amountMinor: bigint): bigint {
  if (amountMinor > amountMinorAbsoluteMax || amountMinor < -amountMinorAbsoluteMax) {
    throw new MoneyError(
      MoneyErrorCode.AmountOutOfRange,
      `amount ${amountMinor} is outside the signed 64-bit range`,
    );
  }
  return amountMinor;
}

export function money(amountMinor: bigint, currency: CurrencyCode): Money {
  return { amountMinor: checkRange(amountMinor), currency };
}

const minorUnitsPattern = /^-?(0|[1-9]\d{0,18})$/;

/** Parses minor units carried as a decimal integer string (the wire form of int64). */
export function parseMinorUnits(value: string): bigint {
  if (!minorUnitsPattern.test(value)) {
    throw new MoneyError(
      MoneyErrorCode.MalformedAmount,
      `amount '${echo(value)}' is not an integer number of minor units`,
    );
  }
  return checkRange(BigInt(value));
}

/**
 * Parses a decimal major-unit string ("12.34") exactly. More fraction digits than the currency
 * has is an error rather than a rounding: money is never rounded silently.
 */
export function parseDecimal(value: string, currency: CurrencyCode): Money {
  const exponent = exponentOf(currency);
  const match = /^(-?)(0|[1-9]\d*)(?:\.(\d+))?$/.exec(value);
  if (match === null || value.length > 40) {
    throw new MoneyError(
      MoneyErrorCode.MalformedAmount,
      `amount '${echo(value)}' is not a decimal`,
    );
  }
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (fraction.length > exponent) {
    throw new MoneyError(
      MoneyErrorCode.MalformedAmount,
      `amount '${echo(value)}' has more than ${exponent} fraction digits for ${currency}`,
    );
  }
  const digits = whole + fraction.padEnd(exponent, '0');
  const magnitude = BigInt(digits);
  return money(sign === '-' ? -magnitude : magnitude, currency);
}

/** Formats as a decimal major-unit string with exactly the currency's fraction digits. */
export function formatDecimal(value: Money): string {
  const exponent = exponentOf(value.currency);
  const negative = value.amountMinor < 0n;
  const digits = (negative ? -value.amountMinor : value.amountMinor)
    .toString()
    .padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction}` : ''}`;
}

export function formatMoney(value: Money): string {
  return `${formatDecimal(value)} ${value.currency}`;
}

function sameCurrency(left: Money, right: Money): CurrencyCode {
  if (left.currency !== right.currency) {
    throw new MoneyError(
      MoneyErrorCode.CurrencyMismatch,
      `cannot combine ${left.currency} with ${right.currency}`,
    );
  }
  return left.currency;
}

export function add(left: Money, right: Money): Money {
  return money(left.amountMinor + right.amountMinor, sameCurrency(left, right));
}

export function subtract(left: Money, right: Money): Money {
  return money(left.amountMinor - right.amountMinor, sameCurrency(left, right));
}

export function compare(left: Money, right: Money): -1 | 0 | 1 {
  sameCurrency(left, right);
  if (left.amountMinor === right.amountMinor) return 0;
  return left.amountMinor < right.amountMinor ? -1 : 1;
}

export function isZero(value: Money): boolean {
  return value.amountMinor === 0n;
}

export function negate(value: Money): Money {
  return money(-value.amountMinor, value.currency);
}
