import { CellpayError } from '@cellpay/sdk';

/** Status names are bounded to this many characters by the recorder. */
const statusLengthMax = 64;

/**
 * The status an operation's error is counted under: what was sent (an operation kind or a
 * setup step), the gRPC status, the reason the platform gave and, when the platform names one,
 * its cause (`pay_same_cell.UNAVAILABLE.cell_unavailable.breaker_open`), so the report says which
 * rule refused which kind of request. An error that is not a platform refusal (the SDK or the
 * generator failed) is `<what>.client_error`.
 */
export function errorStatusOf(what: string, error: unknown): string {
  if (!(error instanceof CellpayError)) return `${what}.client_error`;
  const cause = error.facts['cause'];
  const name = [what, error.codeName, error.reason, ...(cause === undefined ? [] : [cause])].join(
    '.',
  );
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, statusLengthMax);
}
