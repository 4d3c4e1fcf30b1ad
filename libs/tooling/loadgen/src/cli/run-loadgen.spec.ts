import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadProgress } from '../engine/load-engine';
import { formatProgress, progressPrinter } from './progress-line';
import { runLoadgenCli } from './run-loadgen';

function capture(isTTY = false) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (text: string) => chunks.push(text) };
}

describe('runLoadgenCli', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'loadgen-cli-'));
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('runs a short profile against the fake target and writes every output', async () => {
    const stdout = capture();
    const stderr = capture();

    const code = await runLoadgenCli(
      ['--target', 'fake', '--profile', 'step', '--rate', '200', '--duration', '2', '--steps', '2'],
      { stdout, stderr, reportsRoot: directory },
    );

    expect(code).toBe(0);
    const output = stdout.chunks.join('');
    expect(output).toMatch(/scheduled 300, ok \d+, errors \d+, dropped 0, unfinished 0/);
    const reportPath = /report: (.*)\n/.exec(output)?.[1] ?? '';
    expect(reportPath.startsWith(directory)).toBe(true);
    for (const file of ['curve.csv', 'curve.json', 'curve.png', 'curve.svg', 'report.html']) {
      expect(existsSync(join(reportPath, '..', file))).toBe(true);
    }
    const csvLines = readFileSync(join(reportPath, '..', 'curve.csv'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(csvLines.length).toBeGreaterThanOrEqual(3);
    expect(csvLines[1]?.startsWith('0,100,')).toBe(true);
  });

  it('says how to start the cluster when the gateway target finds none, and writes nothing', async () => {
    const stdout = capture();
    const stderr = capture();

    const code = await runLoadgenCli(['--profile', 'peak', '--rate', '500', '--duration', '30'], {
      stdout,
      stderr,
      reportsRoot: join(directory, 'reports'),
      env: { CELLPAY_CLUSTER_DIR: join(directory, 'no-cluster') },
      repositoryRoot: directory,
    });

    expect(code).toBe(3);
    expect(stderr.chunks.join('')).toContain(
      `loadgen: no local cluster found: ${join(directory, 'no-cluster', 'credentials.json')}`,
    );
    expect(stderr.chunks.join('')).toContain('npm run cluster:up');
    expect(stdout.chunks).toEqual([]);
    expect(existsSync(join(directory, 'reports'))).toBe(false);
  });

  it('prints usage and exits 2 on a bad command line, without running anything', async () => {
    const stdout = capture();
    const stderr = capture();

    const code = await runLoadgenCli(['--target', 'fake', '--rate=-5'], {
      stdout,
      stderr,
      reportsRoot: directory,
    });

    expect(code).toBe(2);
    expect(stderr.chunks.join('')).toContain('loadgen: --rate must be a number within');
    expect(stderr.chunks.join('')).toContain('usage: npm run loadgen');
    expect(stdout.chunks).toEqual([]);
  });

  it('prints usage on --help', async () => {
    const stdout = capture();

    const code = await runLoadgenCli(['--help'], {
      stdout,
      stderr: capture(),
      reportsRoot: directory,
    });

    expect(code).toBe(0);
    expect(stdout.chunks.join('')).toContain('--profile <kind>');
  });
});

describe('progressPrinter', () => {
  const progress = (elapsedSeconds: number): LoadProgress => ({
    elapsedSeconds,
    scheduledRate: 500,
    okPerSecond: 497,
    started: 1_000,
    ok: 990,
    errors: 3,
    dropped: 2,
    inFlight: 5,
  });

  it('rewrites one line on a terminal and ends it with a newline', () => {
    const stream = capture(true);
    const printer = progressPrinter(stream, 30);

    printer.print(progress(1.2));
    printer.print(progress(2.1));
    printer.end();

    expect(stream.chunks).toEqual([
      `\r${formatProgress(progress(1.2), 30)}\x1b[K`,
      `\r${formatProgress(progress(2.1), 30)}\x1b[K`,
      '\n',
    ]);
    expect(formatProgress(progress(2.1), 30)).toBe(
      '[2/30 s] rate 500/s | ok 497/s | ok 990 | errors 3 | dropped 2 | in flight 5',
    );
  });

  it('writes a line every five seconds into a log', () => {
    const stream = capture(false);
    const printer = progressPrinter(stream, 30);

    for (let second = 1; second <= 11; second += 1) printer.print(progress(second + 0.01));
    printer.end();

    expect(stream.chunks).toHaveLength(2);
    expect(stream.chunks[0]).toMatch(/^\[5\/30 s\].*\n$/);
  });
});
