// Entry point of `npm run loadgen`: plays a load profile against a target and writes the
// per-second curve (CSV, JSON, PNG, HTML). See docs/observability.md.
import { runLoadgenCli } from '@cellpay/loadgen';

runLoadgenCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  reportsRoot: 'reports/loadgen',
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
