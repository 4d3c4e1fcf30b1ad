import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type LoadRunReport, operationKinds, runLoadgenCli } from '@cellpay/loadgen';
import { uniqueName } from '@cellpay/testing';

import { type OwnCluster, startOwnCluster } from './bench-cluster';

function capture() {
  const chunks: string[] = [];
  return { chunks, write: (text: string) => chunks.push(text) };
}

// The load generator's gateway target against real processes: cluster:up's gateway and cells on
// the real MariaDB (in databases of this test's own), through the SDK, as merchants call it.
describe('npm run loadgen against a real cluster', () => {
  let cluster: OwnCluster | undefined;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'loadgen-gateway-'));
    cluster = await startOwnCluster(uniqueName('lgit'), () => undefined);
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(directory, { recursive: true, force: true });
  }, 120_000);

  it('plays the mix for a few seconds, writes every report file, and every request is accounted for', async () => {
    const stdout = capture();
    const stderr = capture();
    const out = join(directory, 'report');

    const code = await runLoadgenCli(
      [
        ...['--profile', 'constant', '--rate', '8', '--duration', '3'],
        ...['--payers', '6', '--merchants-per-cell', '1', '--live', '--out', out],
      ],
      {
        stdout,
        stderr,
        reportsRoot: directory,
        env: cluster?.env ?? {},
        repositoryRoot: process.cwd(),
      },
    );

    expect(stderr.chunks.join('')).toContain('setup: 6 payers funded');
    expect(code).toBe(0);
    for (const file of ['curve.csv', 'curve.json', 'curve.png', 'curve.svg', 'report.html']) {
      expect(existsSync(join(out, file))).toBe(true);
    }
    const report = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')) as LoadRunReport;
    const { summary } = report;
    expect(summary.target).toBe('gateway');
    expect(summary.scheduled).toBe(24);
    expect(summary.dropped + summary.unfinished).toBe(0);
    // Every request sent ended as ok or as an error counted by its status and reason.
    expect(summary.started).toBe(summary.ok + summary.errorCount);
    const errorsByStatus = Object.values(summary.errors).reduce((sum, count) => sum + count, 0);
    expect(errorsByStatus).toBe(summary.errorCount);
    for (const status of Object.keys(summary.errors)) {
      expect(operationKinds.some((kind) => status.startsWith(`${kind}.`))).toBe(true);
    }
    const curveOk = report.seconds.reduce((sum, second) => sum + second.throughput, 0);
    const curveErrors = report.seconds.reduce((sum, second) => sum + second.errorCount, 0);
    expect([curveOk, curveErrors]).toEqual([summary.ok, summary.errorCount]);
    // Same-cell payments and queries work on any cluster, so some requests must succeed.
    expect(summary.ok).toBeGreaterThan(0);
    const csvRows = readFileSync(join(out, 'curve.csv'), 'utf8').trimEnd().split('\n');
    expect(csvRows.length).toBe(report.seconds.length + 1);
  }, 180_000);

  it('measures settlement lag of shadow cross-cell payments in the per-second curve', async () => {
    const stdout = capture();
    const stderr = capture();
    const out = join(directory, 'settlement');

    const code = await runLoadgenCli(
      [
        ...['--profile', 'constant', '--rate', '20', '--duration', '10'],
        ...['--payers', '30', '--merchants-per-cell', '1', '--out', out],
      ],
      {
        stdout,
        stderr,
        reportsRoot: directory,
        env: cluster?.env ?? {},
        repositoryRoot: process.cwd(),
      },
    );

    expect(code).toBe(0);
    expect(stderr.chunks.join('')).toContain('(shadow traffic)');
    const report = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')) as LoadRunReport;
    const { summary } = report;
    // The default mix sends about a quarter of its arrivals as cross-cell payments; the follower
    // follows one in five of those through the relays and consumers to settled.
    const followerLine = stderr.chunks.find((line) => line.startsWith('settlement:')) ?? '';
    expect({ followerLine, unsettled: summary.settlementUnsettled }).toEqual({
      followerLine: expect.stringMatching(/ [1-9]\d* settled, 0 unsettled/),
      unsettled: 0,
    });
    expect(summary.settlementLagMs?.count).toBeGreaterThan(0);
    const lagSeconds = report.seconds.filter((second) => second.settlementLagMs !== null);
    expect(lagSeconds.length).toBeGreaterThan(0);
    for (const second of lagSeconds) {
      expect(second.settlementLagMs?.p50).toBeGreaterThan(0);
      expect(second.settlementLagMs?.max).toBeLessThan(30_000);
    }
    const csvRows = readFileSync(join(out, 'curve.csv'), 'utf8').trimEnd().split('\n');
    const header = csvRows[0]?.split(',') ?? [];
    const lagColumn = header.indexOf('settlement_lag_p50_ms');
    expect(csvRows.slice(1).some((row) => (row.split(',')[lagColumn] ?? '') !== '')).toBe(true);
    expect(stdout.chunks.join('')).toMatch(/settlement lag ms: \d+ settled, p50 [\d.]+, p99/);
  }, 240_000);
});
