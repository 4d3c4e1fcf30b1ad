/** Why a money value was refused; the codes read like the rule that was broken. */
export enum MoneyErrorCode {
  UnknownCurrency = 'unknown_currency',
  CurrencyMismatch = 'currency_mismatch',
  MalformedAmount = 'malformed_amount',
  AmountMustBePositive = 'amount_must_be_positive',
  AmountExceedsLimit = 'amount_exceeds_limit',
  AmountOutOfRange = 'amount_out_of_range',
}

export class MoneyError extends Error {
  constructor(
    readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}
