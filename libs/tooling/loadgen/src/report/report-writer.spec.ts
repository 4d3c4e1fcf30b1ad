import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CurveSecond, LoadRunReport } from './curve';
import {
  axisTop,
  chartHeight,
  chartWidth,
  niceCeiling,
  renderCurveSvg,
  ticks,
} from './curve-chart';
import { findChartFont } from './png-renderer';
import { writeLoadReport } from './report-writer';

function second(index: number, overrides: Partial<CurveSecond> = {}): CurveSecond {
  const rate = index < 3 ? 50 : 500;
  return {
    second: index,
    offered: rate,
    throughput: rate - 1,
    errors: { UNAVAILABLE: 1 },
    errorCount: 1,
    dropped: 0,
    latencyMs: { p50: 4 + index, p95: 9 + index, p99: 20 + index, max: 80 },
    settlementLagMs: { count: 10, p50: 200, p99: 400, max: 450 },
    dispatchLagMsMax: 1.25,
    ...overrides,
  };
}

const report: LoadRunReport = {
  summary: {
    target: 'fake',
    profile: 'peak',
    rate: 500,
    durationSeconds: 6,
    startedAt: '2026-11-21T06:00:00.000Z',
    elapsedSeconds: 6.01,
    scheduled: 1_650,
    started: 1_650,
    ok: 1_640,
    errors: { UNAVAILABLE: 5, '<script>': 1 },
    errorCount: 6,
    dropped: 0,
    unfinished: 0,
    interrupted: false,
    latencyMs: { p50: 5, p95: 11, p99: 24, max: 80 },
    settlementLagMs: { count: 60, p50: 200, p99: 400, max: 450 },
    settlementUnsettled: 2,
    dispatchLagMsMax: 3.5,
  },
  seconds: [
    second(0),
    second(1),
    second(2, { latencyMs: null, settlementLagMs: null, errors: { '<script>': 1 } }),
    second(3),
    second(4),
    second(5),
  ],
};

describe('writeLoadReport', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'loadgen-report-'));
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('writes a PNG that decodes, with the chart size', () => {
    const written = writeLoadReport(report, join(directory, 'nested'));

    const png = readFileSync(written.pngPath);
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(chartWidth);
    expect(png.readUInt32BE(20)).toBe(chartHeight);
    // A blank canvas of this size compresses to a few kilobytes; lines and text make it larger.
    expect(png.length).toBeGreaterThan(20_000);
  });

  it('writes one CSV row per second with a column per error status', () => {
    const written = writeLoadReport(report, directory);

    const lines = readFileSync(written.csvPath, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1 + report.seconds.length);
    expect(lines[0]).toBe(
      'second,offered,throughput,errors,dropped,latency_p50_ms,latency_p95_ms,latency_p99_ms,latency_max_ms,' +
        'settlement_lag_count,settlement_lag_p50_ms,settlement_lag_p99_ms,settlement_lag_max_ms,dispatch_lag_max_ms,' +
        'errors_<script>,errors_UNAVAILABLE',
    );
    expect(lines[1]).toBe('0,50,49,1,0,4,9,20,80,10,200,400,450,1.25,0,1');
    expect(lines[3]).toBe('2,50,49,1,0,,,,,0,,,,1.25,1,0');
  });

  it('writes the whole report as JSON', () => {
    const written = writeLoadReport(report, directory);

    expect(JSON.parse(readFileSync(written.jsonPath, 'utf8'))).toEqual(report);
  });

  it('writes a self-contained HTML page with the chart, the summary and the table, escaped', () => {
    const written = writeLoadReport(report, directory);

    const html = readFileSync(written.htmlPath, 'utf8');
    expect(html).toContain('<svg width="1100"');
    expect(html).toContain('Throughput (operations per second)');
    expect(html).toContain('<table class="seconds">');
    expect(html.match(/<tr><td>\d+<\/td><td>\d+<\/td>/g)).toHaveLength(report.seconds.length);
    expect(html).toContain('p99 24 ms');
    expect(html).toContain('generator dispatch lag, max</td><td>3.5 ms');
    expect(html).toContain(
      'settlement lag</td><td>60 settled: p50 200 ms, p99 400 ms, max 450 ms; 2 not settled within the bound',
    );
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toMatch(/https?:\/\//);
  });
});

describe('the settlement lag panel', () => {
  it('marks a second whose neighbours had no settlement, so a sparse sample stays visible', () => {
    const lone = 777;
    const sparse: LoadRunReport = {
      ...report,
      seconds: report.seconds.map((each) =>
        second(each.second, {
          settlementLagMs: each.second === 3 ? { count: 1, p50: lone, p99: lone, max: lone } : null,
        }),
      ),
    };

    const svg = renderCurveSvg(sparse, true);

    // p50, p99 and max of the one second, each a marker; no line can join a lone point.
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(
      renderCurveSvg(
        { ...sparse, seconds: sparse.seconds.map((each) => ({ ...each, settlementLagMs: null })) },
        true,
      ),
    ).not.toContain('<circle ');
  });
});

describe('chart scales', () => {
  it('rounds axis tops up to 1, 2 or 5 times a power of ten, with round ticks', () => {
    expect([0.7, 1, 3, 7, 43, 501].map((value) => niceCeiling(value))).toEqual([
      1, 1, 5, 10, 50, 1000,
    ]);
    expect([5005, 460, 0].map(axisTop)).toEqual([6000, 600, 1]);
    expect(ticks(1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(ticks(29)).toEqual([0, 10, 20]);
  });
});

describe('findChartFont', () => {
  it('prefers the configured font file and refuses one that does not exist', () => {
    const exists = (path: string) => path === '/fonts/mine.ttf';

    expect(findChartFont({ CELLPAY_CHART_FONT_FILE: '/fonts/mine.ttf' }, exists)).toBe(
      '/fonts/mine.ttf',
    );
    expect(() => findChartFont({ CELLPAY_CHART_FONT_FILE: '/fonts/none.ttf' }, exists)).toThrow(
      'CELLPAY_CHART_FONT_FILE=/fonts/none.ttf: no such font file',
    );
    expect(findChartFont({}, exists)).toBeUndefined();
    expect(findChartFont({}, (path) => path.endsWith('/TTF/DejaVuSans.ttf'))).toBe(
      '/usr/share/fonts/TTF/DejaVuSans.ttf',
    );
  });
});
