import type { LoadProgress } from '../engine/load-engine';

/** One progress line: where the run is, what it asks for and what comes back. */
export function formatProgress(progress: LoadProgress, durationSeconds: number): string {
  const elapsed = Math.min(progress.elapsedSeconds, durationSeconds);
  return (
    `[${Math.floor(elapsed)}/${Math.round(durationSeconds)} s] ` +
    `rate ${Math.round(progress.scheduledRate)}/s | ok ${progress.okPerSecond}/s | ` +
    `ok ${progress.ok} | errors ${progress.errors} | dropped ${progress.dropped} | ` +
    `in flight ${progress.inFlight}`
  );
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Seconds between progress lines when stderr is a log file rather than a terminal. */
export const progressLogIntervalSeconds = 5;

/**
 * On a terminal, rewrites one line in place every second; into a log, writes a line every few
 * seconds, so a long run leaves a bounded, readable trail.
 */
export function progressPrinter(
  stream: ProgressStream,
  durationSeconds: number,
): { print(progress: LoadProgress): void; end(): void } {
  let printed = false;
  return {
    print(progress) {
      const line = formatProgress(progress, durationSeconds);
      if (stream.isTTY === true) {
        stream.write(`\r${line}\x1b[K`);
        printed = true;
      } else if (Math.floor(progress.elapsedSeconds) % progressLogIntervalSeconds === 0) {
        stream.write(`${line}\n`);
      }
    },
    end() {
      if (printed) stream.write('\n');
    },
  };
}
