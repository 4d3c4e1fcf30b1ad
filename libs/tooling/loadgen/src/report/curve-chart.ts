import type { CurveSecond, LoadRunReport } from './curve';
import { escapeMarkup, roundTo } from './number-format';

/** The chart's size in SVG user units (and PNG pixels at scale 1). */
export const chartWidth = 1100;
const panelHeight = 280;
const headerHeight = 64;
const margin = { left: 80, right: 190, top: 34, bottom: 36 } as const;
export const chartHeight = headerHeight + 3 * panelHeight;
export const chartFontFamily = 'DejaVu Sans';

interface Series {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  readonly dashed?: boolean;
  /**
   * Marks every point: a sparse series (settlement lag of a sample, with seconds in which
   * nothing settled) would otherwise hide a second that has no neighbour to draw a line to.
   */
  readonly markers?: boolean;
}

interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
  /** The top of the y axis; values above it are clipped (used so `max` cannot flatten p99). */
  readonly yMax: number;
  readonly emptyNote: string;
}

/**
 * Draws the per-second curve as a self-contained SVG: throughput, latency percentiles and
 * settlement lag in three panels over the same time axis. Hand-written rather than through a
 * charting library: three line panels need little code, and the output is byte-for-byte stable.
 * `standalone` adds the XML namespace a standalone SVG file (and resvg) needs; HTML inlining
 * leaves it out so the report holds no URL at all.
 */
export function renderCurveSvg(report: LoadRunReport, standalone: boolean): string {
  const seconds = report.seconds;
  const { summary } = report;
  const latencyValues = (pick: (second: CurveSecond) => number | undefined): (number | null)[] =>
    seconds.map((second) => (second.latencyMs === null ? null : (pick(second) ?? null)));
  const lagValues = (pick: (second: CurveSecond) => number | undefined): (number | null)[] =>
    seconds.map((second) => (second.settlementLagMs === null ? null : (pick(second) ?? null)));

  const p99 = latencyValues((second) => second.latencyMs?.p99);
  const lagMax = lagValues((second) => second.settlementLagMs?.max);
  const panels: Panel[] = [
    {
      title: 'Throughput (operations per second)',
      yMax: axisTop(
        Math.max(...seconds.map((second) => Math.max(second.offered, second.throughput))),
      ),
      emptyNote: 'no arrivals',
      series: [
        {
          label: 'offered',
          color: '#8c8c8c',
          dashed: true,
          values: seconds.map((second) => second.offered),
        },
        { label: 'ok', color: '#1f77b4', values: seconds.map((second) => second.throughput) },
        { label: 'errors', color: '#d62728', values: seconds.map((second) => second.errorCount) },
        { label: 'dropped', color: '#ff7f0e', values: seconds.map((second) => second.dropped) },
      ],
    },
    {
      title: 'Latency of ok operations (ms, scheduled arrival to completion)',
      yMax: axisTop(Math.max(0, ...p99.map((value) => value ?? 0)) * 1.15),
      emptyNote: 'no operation completed',
      series: [
        {
          label: 'p50',
          color: '#2ca02c',
          values: latencyValues((second) => second.latencyMs?.p50),
        },
        {
          label: 'p95',
          color: '#ff7f0e',
          values: latencyValues((second) => second.latencyMs?.p95),
        },
        { label: 'p99', color: '#d62728', values: p99 },
        {
          label: 'max (clipped)',
          color: '#7f7f7f',
          dashed: true,
          values: latencyValues((second) => second.latencyMs?.max),
        },
        {
          label: 'generator lag',
          color: '#9467bd',
          dashed: true,
          // Only seconds in which arrivals were started have a dispatch lag to show.
          values: seconds.map((second) =>
            second.offered > second.dropped ? second.dispatchLagMsMax : null,
          ),
        },
      ],
    },
    {
      title: 'Settlement lag (ms, payment acknowledged to settled, by the second it settled)',
      yMax: axisTop(Math.max(0, ...lagMax.map((value) => value ?? 0))),
      emptyNote: 'no settlement lag reported by the target',
      series: [
        {
          label: 'p50',
          color: '#2ca02c',
          values: lagValues((second) => second.settlementLagMs?.p50),
          markers: true,
        },
        {
          label: 'p99',
          color: '#d62728',
          values: lagValues((second) => second.settlementLagMs?.p99),
          markers: true,
        },
        { label: 'max', color: '#7f7f7f', dashed: true, values: lagMax, markers: true },
      ],
    },
  ];

  // Second s covers [s, s + 1) and is drawn at its middle; the axis spans every whole second.
  const xMax = Math.max(1, seconds.length);
  const namespace = standalone ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  const parts: string[] = [
    `<svg${namespace} width="${chartWidth}" height="${chartHeight}" viewBox="0 0 ${chartWidth} ${chartHeight}" font-family="${chartFontFamily}" font-size="12">`,
    `<rect width="${chartWidth}" height="${chartHeight}" fill="#ffffff"/>`,
    text(
      margin.left,
      26,
      `cellpay load run: ${summary.profile} profile, ${summary.rate}/s top rate, ${summary.durationSeconds} s, target ${summary.target}`,
      17,
      'bold',
    ),
    text(
      margin.left,
      48,
      `started ${summary.startedAt} | scheduled ${summary.scheduled} | ok ${summary.ok} | errors ${summary.errorCount} | dropped ${summary.dropped} | unfinished ${summary.unfinished}${summary.interrupted ? ' | interrupted' : ''}`,
      12,
    ),
  ];
  panels.forEach((panel, index) => {
    parts.push(renderPanel(panel, index, xMax, summary.durationSeconds));
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * One panel. Seconds at and after `lastArrivalSecond` hold only the stragglers of the drain, so
 * they are shaded: a falling line there is the run ending, not the system failing.
 */
function renderPanel(panel: Panel, index: number, xMax: number, lastArrivalSecond: number): string {
  const top = headerHeight + index * panelHeight + margin.top;
  const left = margin.left;
  const width = chartWidth - margin.left - margin.right;
  const height = panelHeight - margin.top - margin.bottom;
  const x = (second: number): number => roundTo(left + (second / xMax) * width, 1);
  const y = (value: number): number =>
    roundTo(top + height - (Math.min(value, panel.yMax) / panel.yMax) * height, 1);
  const clipId = `plot-${index}`;
  const parts: string[] = [
    text(left, top - 10, panel.title, 14, 'bold'),
    `<clipPath id="${clipId}"><rect x="${left}" y="${top}" width="${width}" height="${height}"/></clipPath>`,
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="#fafafa" stroke="#cccccc"/>`,
  ];
  if (lastArrivalSecond < xMax) {
    const drainLeft = x(lastArrivalSecond);
    parts.push(
      `<rect x="${drainLeft}" y="${top}" width="${roundTo(left + width - drainLeft, 1)}" height="${height}" fill="#e8e8e8"/>`,
      text(drainLeft + 4, top + 14, 'drain', 11),
    );
  }
  for (const tick of ticks(panel.yMax)) {
    parts.push(
      `<line x1="${left}" x2="${left + width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e3e3e3"/>`,
      text(left - 8, y(tick) + 4, formatTick(tick), 11, 'normal', 'end'),
    );
  }
  for (const tick of ticks(xMax)) {
    parts.push(
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${top + height}" y2="${top + height + 5}" stroke="#555555"/>`,
      text(x(tick), top + height + 18, `${formatTick(tick)} s`, 11, 'normal', 'middle'),
    );
  }
  const hasData = panel.series.some((series) => series.values.some((value) => value !== null));
  if (!hasData) {
    parts.push(text(left + width / 2, top + height / 2, panel.emptyNote, 13, 'normal', 'middle'));
  }
  panel.series.forEach((series, seriesIndex) => {
    const path = linePath(series.values, x, y);
    const dash = series.dashed === true ? ' stroke-dasharray="6 4"' : '';
    if (path !== '') {
      parts.push(
        `<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dash} clip-path="url(#${clipId})"/>`,
      );
    }
    if (series.markers === true) {
      series.values.forEach((value, second) => {
        if (value === null) return;
        parts.push(
          `<circle cx="${x(second + 0.5)}" cy="${y(value)}" r="2.5" fill="${series.color}" clip-path="url(#${clipId})"/>`,
        );
      });
    }
    const legendY = top + 14 + seriesIndex * 20;
    const legendX = left + width + 16;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="3"${dash}/>`,
      text(legendX + 32, legendY, series.label, 12),
    );
  });
  return parts.join('\n');
}

/** An SVG path through the points, broken wherever a value is missing. */
function linePath(
  values: readonly (number | null)[],
  x: (second: number) => number,
  y: (value: number) => number,
): string {
  const commands: string[] = [];
  let penDown = false;
  values.forEach((value, second) => {
    if (value === null) {
      penDown = false;
      return;
    }
    commands.push(`${penDown ? 'L' : 'M'}${x(second + 0.5)} ${y(value)}`);
    penDown = true;
  });
  return commands.join(' ');
}

const tickFactors: readonly number[] = [1, 2, 5, 10];
const axisTopFactors: readonly number[] = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

/** The smallest of `factors` times a power of ten at or above `value` (1, 2 or 5 by default). */
export function niceCeiling(value: number, factors: readonly number[] = tickFactors): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of factors) if (factor * power >= value) return roundTo(factor * power, 9);
  return 10 * power;
}

/** The top of a y axis: a round value at least 10 % above the highest point, so lines stay inside. */
export function axisTop(highest: number): number {
  return niceCeiling(Math.max(1, highest * 1.1), axisTopFactors);
}

/** About five round tick values from 0 to `max`. */
export function ticks(max: number): number[] {
  const step = niceCeiling(max / 5);
  const values: number[] = [];
  for (let tick = 0; tick <= max + step * 1e-9 && values.length <= 12; tick += step) {
    values.push(roundTo(tick, 6));
  }
  return values;
}

function formatTick(value: number): string {
  return String(roundTo(value, 3));
}

function text(
  x: number,
  y: number,
  content: string,
  size: number,
  weight: 'normal' | 'bold' = 'normal',
  anchor: 'start' | 'middle' | 'end' = 'start',
): string {
  return `<text x="${roundTo(x, 1)}" y="${roundTo(y, 1)}" font-size="${size}" font-weight="${weight}" text-anchor="${anchor}" fill="#222222">${escapeMarkup(content)}</text>`;
}
