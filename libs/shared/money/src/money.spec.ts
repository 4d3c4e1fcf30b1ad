import { refusalCodeOf as codeOf } from '@cellpay/testing';

import { checkOperationAmount, operationAmountMinorMax } from './amount-limits';
import { currencyCodes, exponentOf } from './currency';
import {
  add,
  amountMinorAbsoluteMax,
  compare,
  formatDecimal,
  formatMoney,
  money,
  parseCurrency,
  parseDecimal,
  parseMinorUnits,
  subtract,
} from './money';
import { MoneyErrorCode } from './money-error';

// A small deterministic generator so the property-style tests are reproducible.
function* pseudoRandomBigints(count: number, seed: bigint): Generator<bigint> {
  let state = seed;
  for (let index = 0; index < count; index++) {
    state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
    const magnitude = state % (amountMinorAbsoluteMax + 1n);
    yield index % 2 === 0 ? magnitude : -magnitude;
  }
}

describe('money', () => {
  it('parses decimal strings exactly for every exponent', () => {
    expect(parseDecimal('12.34', 'CNY')).toEqual({ amountMinor: 1234n, currency: 'CNY' });
    expect(parseDecimal('12.3', 'USD').amountMinor).toBe(1230n);
    expect(parseDecimal('12', 'EUR').amountMinor).toBe(1200n);
    expect(parseDecimal('1500', 'JPY').amountMinor).toBe(1500n);
    expect(parseDecimal('1.005', 'KWD').amountMinor).toBe(1005n);
    expect(parseDecimal('-0.01', 'GBP').amountMinor).toBe(-1n);
    expect(parseDecimal('92233720368547758.07', 'HKD').amountMinor).toBe(amountMinorAbsoluteMax);
  });

  it('refuses malformed decimals and excess precision instead of rounding', () => {
    for (const bad of ['', '1.', '.5', '01', '1e3', '1,00', ' 1', '1.234', 'NaN', '--1']) {
      expect(codeOf(() => parseDecimal(bad, 'CNY'))).toBe(MoneyErrorCode.MalformedAmount);
    }
    expect(codeOf(() => parseDecimal('1.5', 'JPY'))).toBe(MoneyErrorCode.MalformedAmount);
    expect(codeOf(() => parseDecimal('92233720368547758.08', 'CNY'))).toBe(
      MoneyErrorCode.AmountOutOfRange,
    );
  });

  it('formats with exactly the currency fraction digits', () => {
    expect(formatDecimal(money(1234n, 'CNY'))).toBe('12.34');
    expect(formatDecimal(money(5n, 'USD'))).toBe('0.05');
    expect(formatDecimal(money(-5n, 'USD'))).toBe('-0.05');
    expect(formatDecimal(money(1500n, 'JPY'))).toBe('1500');
    expect(formatDecimal(money(1n, 'KWD'))).toBe('0.001');
    expect(formatMoney(money(100n, 'EUR'))).toBe('1.00 EUR');
  });

  it('round-trips format and parse for every currency (property style)', () => {
    for (const currency of currencyCodes) {
      for (const amountMinor of pseudoRandomBigints(500, BigInt(exponentOf(currency)) + 7n)) {
        const formatted = formatDecimal(money(amountMinor, currency));
        expect(parseDecimal(formatted, currency).amountMinor).toBe(amountMinor);
        expect(parseMinorUnits(amountMinor.toString())).toBe(amountMinor);
      }
    }
  });

  it('refuses arithmetic across currencies and outside 64 bits', () => {
    expect(codeOf(() => add(money(1n, 'CNY'), money(1n, 'USD')))).toBe(
      MoneyErrorCode.CurrencyMismatch,
    );
    expect(codeOf(() => compare(money(1n, 'CNY'), money(1n, 'USD')))).toBe(
      MoneyErrorCode.CurrencyMismatch,
    );
    expect(codeOf(() => add(money(amountMinorAbsoluteMax, 'CNY'), money(1n, 'CNY')))).toBe(
      MoneyErrorCode.AmountOutOfRange,
    );
    expect(subtract(money(5n, 'CNY'), money(7n, 'CNY')).amountMinor).toBe(-2n);
    expect(compare(money(5n, 'CNY'), money(7n, 'CNY'))).toBe(-1);
  });

  it('parses currencies and minor-unit strings strictly', () => {
    expect(parseCurrency('JPY')).toBe('JPY');
    expect(codeOf(() => parseCurrency('XXX'))).toBe(MoneyErrorCode.UnknownCurrency);
    expect(codeOf(() => parseCurrency('cny'))).toBe(MoneyErrorCode.UnknownCurrency);
    expect(() => parseCurrency('X'.repeat(100_000))).toThrow(/^unknown currency 'X{40}\.\.\.'$/);
    for (const bad of ['1.5', '', '+1', '0x10', '1e2', '007', '99999999999999999999']) {
      expect(codeOf(() => parseMinorUnits(bad))).toBeDefined();
    }
  });

  it('bounds operation amounts: positive and at most the named maximum', () => {
    expect(checkOperationAmount(1n, 'CNY')).toBe(1n);
    expect(checkOperationAmount(operationAmountMinorMax.CNY, 'CNY')).toBe(
      operationAmountMinorMax.CNY,
    );
    expect(codeOf(() => checkOperationAmount(0n, 'CNY'))).toBe(MoneyErrorCode.AmountMustBePositive);
    expect(codeOf(() => checkOperationAmount(-1n, 'CNY'))).toBe(
      MoneyErrorCode.AmountMustBePositive,
    );
    expect(codeOf(() => checkOperationAmount(operationAmountMinorMax.CNY + 1n, 'CNY'))).toBe(
      MoneyErrorCode.AmountExceedsLimit,
    );
  });
});
