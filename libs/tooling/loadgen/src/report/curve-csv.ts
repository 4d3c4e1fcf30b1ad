import type { CurveSecond } from './curve';
import { roundTo } from './number-format';

/** Error statuses seen anywhere in the run, sorted, so every row has the same columns. */
export function errorStatusesOf(seconds: readonly CurveSecond[]): string[] {
  const statuses = new Set<string>();
  for (const second of seconds)
    for (const status of Object.keys(second.errors)) statuses.add(status);
  return [...statuses].sort();
}

/** The per-second curve as CSV: one header line, then one line per second of the run. */
export function renderCurveCsv(seconds: readonly CurveSecond[]): string {
  const statuses = errorStatusesOf(seconds);
  const header = [
    'second',
    'offered',
    'throughput',
    'errors',
    'dropped',
    'latency_p50_ms',
    'latency_p95_ms',
    'latency_p99_ms',
    'latency_max_ms',
    'settlement_lag_count',
    'settlement_lag_p50_ms',
    'settlement_lag_p99_ms',
    'settlement_lag_max_ms',
    'dispatch_lag_max_ms',
    ...statuses.map((status) => `errors_${status}`),
  ];
  const milliseconds = (value: number | undefined): string =>
    value === undefined ? '' : String(roundTo(value, 3));
  const rows = seconds.map((second) =>
    [
      String(second.second),
      String(second.offered),
      String(second.throughput),
      String(second.errorCount),
      String(second.dropped),
      milliseconds(second.latencyMs?.p50),
      milliseconds(second.latencyMs?.p95),
      milliseconds(second.latencyMs?.p99),
      milliseconds(second.latencyMs?.max),
      String(second.settlementLagMs?.count ?? 0),
      milliseconds(second.settlementLagMs?.p50),
      milliseconds(second.settlementLagMs?.p99),
      milliseconds(second.settlementLagMs?.max),
      milliseconds(second.dispatchLagMsMax),
      ...statuses.map((status) => String(second.errors[status] ?? 0)),
    ].join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
