// Entry point of `npm run loadgen`: plays a load profile against a target and writes the
// per-second curve (CSV, JSON, PNG, HTML). See docs/observability.md.
import { runLoadgenCli } from '@cellpay/loadgen';

// The first Ctrl-C stops scheduling and lets operations in flight drain, so the report of what
// ran is still written; a second one quits at once.
const stop = new AbortController();
process.on('SIGINT', () => {
  if (stop.signal.aborted) process.exit(130);
  process.stderr.write('\nloadgen: stopping; draining operations in flight (Ctrl-C again quits)\n');
  stop.abort();
});

runLoadgenCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  reportsRoot: 'reports/loadgen',
  signal: stop.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `loadgen failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
