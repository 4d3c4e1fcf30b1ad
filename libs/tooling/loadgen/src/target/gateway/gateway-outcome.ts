import { CellpayError } from '@cellpay/sdk';

/** Status names are bounded to this many characters by the recorder. */
const statusLengthMax = 64;

/**
 * The status an operation's error is counted under: what was sent (an operation kind or a
 * setup step), the gRPC status and the reason the
 * platform gave (`pay_cross_cell.FAILED_PRECONDITION.insufficient_funds`), so the report says
 * which rule refused which kind of request. An error that is not a platform refusal (the SDK or
 * the generator failed) is `<what>.client_error`.
 */
export function errorStatusOf(what: string, error: unknown): string {
  const name =
    error instanceof CellpayError
      ? `${what}.${error.codeName}.${error.reason}`
      : `${what}.client_error`;
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, statusLengthMax);
}
