// Entry point of `npm run simulate` and `npm run simulate:long`: deterministic simulation of the
// platform from a seed (see docs/simulation.md). The wall clock is read here only, to report
// throughput and to bound the long run; the simulated world never sees it.
import { runSimulateCli } from '@cellpay/simulation';

runSimulateCli(process.argv.slice(2), process.stdout, () => Date.now()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
