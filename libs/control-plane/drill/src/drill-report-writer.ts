import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { renderCurveSvg, renderPng } from '@cellpay/loadgen';

import { allPayersGroup } from './drill-load';
import type { DrillReport } from './drill-runner';

export interface WrittenDrillReport {
  readonly markdownPath: string;
  readonly jsonPath: string;
  readonly pngPath: string;
}

/**
 * Writes a drill's report into `directory`: report.json (everything, the per-second curve
 * included), report.md (what an SRE reads) and curve.png (throughput, errors and latency per
 * second). Data first, so a failure while drawing never loses the measurements.
 */
export function writeDrillReport(report: DrillReport, directory: string): WrittenDrillReport {
  mkdirSync(directory, { recursive: true });
  const jsonPath = join(directory, 'report.json');
  const markdownPath = join(directory, 'report.md');
  const pngPath = join(directory, 'curve.png');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdownPath, renderDrillMarkdown(report));
  writeFileSync(pngPath, renderPng(renderCurveSvg(report.curve, true)).png);
  return { markdownPath, jsonPath, pngPath };
}

/** `3 A, 1 B`, most frequent first; empty for no entries. */
function counted(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
}

export function renderDrillMarkdown(report: DrillReport): string {
  const errors = Object.entries(report.clientErrors).sort((a, b) => b[1] - a[1]);
  const lines = [
    `# Drill: ${report.operation}`,
    '',
    `Started ${report.startedAt}; ${report.kind}; load ${report.load.ratePerSecond} payments/s for ` +
      `${report.load.durationSeconds} s through the gateway (SDK, retries on).`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| operation | ${report.operationOutcome}${report.operationError === null ? '' : `: ${report.operationError}`} |`,
    `| RTO (longest time without a successful payment${report.rto.group === allPayersGroup ? '' : ` of a ${report.rto.group} payer`}) | ${report.rto.longestGapMs} ms (${report.rto.gapStartedAt ?? '-'} to ${report.rto.gapEndedAt ?? '-'}) |`,
    `| RPO (acknowledged payments missing afterwards) | ${report.rpo.missing} of ${report.rpo.acknowledged} |`,
    ...(report.placement === null
      ? []
      : [
          `| duplicated payments (across both shards) | ${report.placement.duplicated} |`,
          `| misplaced payments (not on the shard where they belong) | ${report.placement.misplaced} |`,
          `| payments of the moved slots kept on the source (payee stays, by design) | ${report.placement.keptOnSource} |`,
        ]),
    `| only retryable errors during the ${report.errorClasses.window?.name ?? 'operation'} | ${report.errorClasses.onlyRetryableInWindow ? 'yes' : `NO: ${counted(report.errorClasses.nonRetryableInWindow)}`} |`,
    `| reconciliation | ${report.reconciliation.clean ? 'clean' : 'DIFFERENCES'}: ${report.reconciliation.summary} |`,
    `| payments | ${report.load.scheduled} scheduled, ${report.load.ok} ok, ${report.load.errorCount} failed, ${report.load.dropped} dropped, ${report.load.unfinished} unfinished |`,
    ...Object.entries(report.facts).map(([name, value]) => `| ${name} | ${String(value)} |`),
    '',
    ...(Object.keys(report.groups).length <= 1
      ? []
      : [
          '## Payers by group',
          '',
          '| group | attempts | ok | failed | longest gap (ms) |',
          '| --- | ---: | ---: | ---: | ---: |',
          ...Object.entries(report.groups).map(
            ([group, figures]) =>
              `| ${group} | ${figures.attempts} | ${figures.ok} | ${figures.failed} | ${figures.longestGapMs} |`,
          ),
          '',
        ]),
    '## Timeline',
    '',
    '| at | step | ms | outcome | detail |',
    '| --- | --- | ---: | --- | --- |',
    ...report.timeline.map(
      (step) =>
        `| ${step.startedAt.toISOString().slice(11, 23)} | ${step.step} | ${step.durationMs} | ${step.outcome} | ${(step.detail ?? '').replaceAll('|', '/')} |`,
    ),
    '',
    '## Errors clients saw (after the SDK retries)',
    '',
    ...(errors.length === 0
      ? ['none']
      : [
          '| status.reason | count |',
          '| --- | ---: |',
          ...errors.map(([s, n]) => `| ${s} | ${n} |`),
        ]),
    '',
    ...(report.errorClasses.window === null
      ? []
      : [
          `During the ${report.errorClasses.window.name} (${report.errorClasses.window.from.slice(11, 23)} to ${report.errorClasses.window.to.slice(11, 23)}): ` +
            `${counted(report.errorClasses.inWindow) || 'no errors'}. Not retryable: ` +
            `${counted(report.errorClasses.nonRetryableInWindow) || 'none'} (retryable means UNAVAILABLE or ABORTED with a routing reason).`,
          `Not retryable outside it: ${counted(report.errorClasses.nonRetryableOutside) || 'none'}.`,
          '',
        ]),
    ...(report.placement === null || report.placement.sample.length === 0
      ? []
      : [
          '## Duplicated or misplaced payments (sample)',
          '',
          ...report.placement.sample.map((line) => `- ${line}`),
          '',
        ]),
    ...(report.rpo.missingSample.length === 0
      ? []
      : [
          '## Missing acknowledged payments (sample)',
          '',
          ...report.rpo.missingSample.map((id) => `- ${id}`),
          '',
        ]),
    '![throughput and errors per second](curve.png)',
    '',
  ];
  return lines.join('\n');
}
