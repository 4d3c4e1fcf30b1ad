import type { LatencyPercentiles, LoadRunReport, SettlementLagPercentiles } from './curve';
import { errorStatusesOf } from './curve-csv';
import { escapeMarkup, roundTo } from './number-format';

/**
 * A self-contained HTML report: the chart inlined as SVG, the run summary and the per-second
 * table. No script, stylesheet, font or image is fetched, so it opens anywhere, offline.
 */
export function renderHtmlReport(report: LoadRunReport, inlineSvg: string): string {
  const { summary, seconds } = report;
  const statuses = errorStatusesOf(seconds);
  const errorList =
    statuses.length === 0
      ? 'none'
      : statuses.map((status) => `${status}: ${summary.errors[status] ?? 0}`).join(', ');
  const summaryRows: [string, string][] = [
    ['target', summary.target],
    ['profile', `${summary.profile}, top rate ${summary.rate}/s, ${summary.durationSeconds} s`],
    ['started at', summary.startedAt],
    ['elapsed', `${roundTo(summary.elapsedSeconds, 2)} s`],
    ['scheduled arrivals', String(summary.scheduled)],
    ['started', String(summary.started)],
    ['ok', String(summary.ok)],
    ['errors', `${summary.errorCount} (${errorList})`],
    ['dropped (in-flight limit)', String(summary.dropped)],
    ['unfinished at the drain timeout', String(summary.unfinished)],
    ['interrupted before the end', summary.interrupted ? 'yes' : 'no'],
    ['latency of ok operations', latencyText(summary.latencyMs)],
    ['settlement lag', lagText(summary.settlementLagMs, summary.settlementUnsettled)],
    ['generator dispatch lag, max', `${roundTo(summary.dispatchLagMsMax, 2)} ms`],
  ];
  const cell = (value: number | undefined): string =>
    `<td>${value === undefined ? '' : String(roundTo(value, 3))}</td>`;
  const secondRows = seconds.map(
    (second) =>
      `<tr><td>${second.second}</td><td>${second.offered}</td><td>${second.throughput}</td>` +
      `<td>${second.errorCount}</td><td>${second.dropped}</td>` +
      cell(second.latencyMs?.p50) +
      cell(second.latencyMs?.p95) +
      cell(second.latencyMs?.p99) +
      cell(second.latencyMs?.max) +
      cell(second.settlementLagMs?.p50) +
      cell(second.settlementLagMs?.p99) +
      cell(second.dispatchLagMsMax) +
      statuses.map((status) => `<td>${second.errors[status] ?? 0}</td>`).join('') +
      '</tr>',
  );
  const title = `cellpay load run ${summary.startedAt}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeMarkup(title)}</title>
<style>
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 24px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; }
table.summary td:first-child { text-align: left; font-weight: bold; }
table.summary td { text-align: left; }
</style>
</head>
<body>
<h1>${escapeMarkup(title)}</h1>
<h2>Summary</h2>
<table class="summary">
${summaryRows.map(([name, value]) => `<tr><td>${escapeMarkup(name)}</td><td>${escapeMarkup(value)}</td></tr>`).join('\n')}
</table>
<h2>Per-second curve</h2>
<div class="chart">
${inlineSvg}
</div>
<h2>Per second</h2>
<table class="seconds">
<tr><th>second</th><th>offered</th><th>ok</th><th>errors</th><th>dropped</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>settlement p50 ms</th><th>settlement p99 ms</th><th>dispatch lag max ms</th>${statuses.map((status) => `<th>${escapeMarkup(status)}</th>`).join('')}</tr>
${secondRows.join('\n')}
</table>
</body>
</html>
`;
}

function latencyText(latency: LatencyPercentiles | null): string {
  if (latency === null) return 'none completed';
  const ms = (value: number): string => `${roundTo(value, 2)} ms`;
  return `p50 ${ms(latency.p50)}, p95 ${ms(latency.p95)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)}`;
}

function lagText(lag: SettlementLagPercentiles | null, unsettled: number): string {
  const unsettledText = unsettled > 0 ? `${unsettled} not settled within the bound` : '';
  if (lag === null) return unsettledText === '' ? 'not reported by the target' : unsettledText;
  const ms = (value: number): string => `${roundTo(value, 1)} ms`;
  const settled = `${lag.count} settled: p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}`;
  return unsettledText === '' ? settled : `${settled}; ${unsettledText}`;
}
