// `cellpay`: the merchant and wallet command line on top of the SDK (see docs/api.md).
import { CommanderError } from 'commander';

import { buildCli } from './cellpay-cli';

buildCli(
  {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  },
  process.env,
)
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`cellpay: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
