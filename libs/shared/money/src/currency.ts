/**
 * ISO 4217 currencies the platform accepts, with their minor-unit exponent. The list is closed on
 * purpose: an amount in a currency we do not know the exponent of cannot be handled exactly.
 */
export const currencyExponents = {
  CNY: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  JPY: 0,
  KWD: 3,
} as const;

export type CurrencyCode = keyof typeof currencyExponents;

export const currencyCodes = Object.keys(currencyExponents) as CurrencyCode[];

export function isCurrencyCode(value: string): value is CurrencyCode {
  return Object.prototype.hasOwnProperty.call(currencyExponents, value);
}

export function exponentOf(currency: CurrencyCode): number {
  return currencyExponents[currency];
}
