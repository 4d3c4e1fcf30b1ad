// Entry point of cellctl, the control-plane CLI: routing, switches, dead letters, credentials,
// audit. Failover, slot migration and drills join it with the control-plane issue.
import { runCellctl } from './cellctl';
import { processTerminal } from './terminal';

runCellctl(process.argv.slice(2), processTerminal).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    process.stderr.write(`cellctl: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
