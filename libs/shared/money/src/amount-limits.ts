import type { CurrencyCode } from './currency';
import { MoneyError, MoneyErrorCode } from './money-error';

/**
 * The largest amount one operation may move, per currency, in minor units. One limit per
 * operation kind keeps a typo ("1000000000" for "10000000") from moving a fortune; the figures
 * are product choices (about one million CNY in every currency), not technical bounds.
 */
export const operationAmountMinorMax: Readonly<Record<CurrencyCode, bigint>> = {
  CNY: 100_000_000n,
  USD: 15_000_000n,
  EUR: 15_000_000n,
  GBP: 12_000_000n,
  HKD: 110_000_000n,
  JPY: 20_000_000n,
  KWD: 45_000_000n,
};

/**
 * Checks an operation amount: strictly positive and at most the named maximum. This is the one
 * gate every amount that enters the cell passes through.
 */
export function checkOperationAmount(
  amountMinor: bigint,
  currency: CurrencyCode,
  amountMinorMax: bigint = operationAmountMinorMax[currency],
): bigint {
  if (amountMinor <= 0n) {
    throw new MoneyError(
      MoneyErrorCode.AmountMustBePositive,
      `amount must be positive, got ${amountMinor}`,
    );
  }
  if (amountMinor > amountMinorMax) {
    throw new MoneyError(
      MoneyErrorCode.AmountExceedsLimit,
      `amount ${amountMinor} exceeds the limit of ${amountMinorMax} ${currency} minor units`,
    );
  }
  return amountMinor;
}
